#pragma once
// flip_load's switch half: how a flip is performed on each proxy (the admin API over HTTP,
// HAProxy's runtime socket, nginx's config file + SIGHUP), and the helpers both halves share.

#include <netinet/in.h>

#include <string>
#include <string_view>
#include <vector>

namespace flip_load {

[[noreturn]] void die(const std::string& message);
std::string replaceAll(std::string text, std::string_view from, std::string_view to);
// 127.0.0.0/8 only: the harness never connects anywhere else.
sockaddr_in loopbackAddress(const std::string& host, int port);
// Performs one switch to `pool` as `spec` (split --switch) says. Blocking: returns an error
// message, empty on success.
std::string doSwitch(const std::vector<std::string>& spec, const std::string& pool);

}  // namespace flip_load
