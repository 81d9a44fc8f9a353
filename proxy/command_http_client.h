#pragma once

// The HTTP/1.1 exchange of the short command-line clients (`switchyard healthcheck`,
// `switchyard upgrade`): one request on a new connection to a running instance, without an
// event loop, bounded by a deadline.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/net_address.h"

namespace sy::proxy {

struct CommandAnswer {
  int status = 0;
  std::string body;  // empty when only the head was asked for
};

enum class CommandRead { kHeadOnly, kWholeAnswer };

// Sends `request` (a whole HTTP/1.1 message, `Connection: close`) to `address` and reads the
// answer's head, or the whole answer, before `deadline`. Errors say which step failed.
absl::StatusOr<CommandAnswer> exchangeOnce(const core::NetAddress& address,
                                           std::string_view request, CommandRead read,
                                           std::chrono::steady_clock::time_point deadline);

}  // namespace sy::proxy
