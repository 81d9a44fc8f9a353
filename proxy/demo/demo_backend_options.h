#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/net_address.h"

namespace sy::proxy {

struct DemoBackendOptions {
  std::string name;
  core::NetAddress listen;
  int threads = 1;
  absl::Duration delay = absl::ZeroDuration();
  double fail_rate = 0;
  int fail_status = 500;
  int health_status = 200;
  // Share of requests (except /health and /control/*) answered with a TCP RST and nothing else.
  double reset_rate = 0;
  // How long a stop waits for in-flight responses before closing what is left.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Log one `request_received` event per request read completely (method, target, headers,
  // body size and SHA-256); every request body is hashed then.
  bool log_requests = false;
  bool help = false;
};

// Parses the arguments that follow `switchyard backend`, as `--flag value` or `--flag=value`.
// With --help, returns at once with `help` set and nothing else checked.
absl::StatusOr<DemoBackendOptions> parseDemoBackendArgs(const std::vector<std::string_view>& args);

// The --help text: usage, flags and endpoints.
std::string_view demoBackendHelp();

}  // namespace sy::proxy
