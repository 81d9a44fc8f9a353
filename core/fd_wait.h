#pragma once

#include <chrono>

namespace sy::core {

// Blocks until `events` (POLLIN, POLLOUT) are ready on `fd` or `deadline` passes; false on
// timeout or error. For the short command-line clients (`switchyard probe`, `switchyard upgrade`)
// that talk to a running instance without an event loop.
bool waitForFd(int fd, short events, std::chrono::steady_clock::time_point deadline);

}  // namespace sy::core
