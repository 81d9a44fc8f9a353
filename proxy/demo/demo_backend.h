#pragma once

// The built-in demo and test backend: `switchyard backend --name NAME --listen HOST:PORT ...`.
// A small, fast HTTP/1.1 origin on libuv with endpoints that tests and demos drive (health,
// failures, delays, large bodies, echo, resets, upgrades). `switchyard backend --help` lists them.

#include <string_view>

namespace sy::proxy {

// Runs the backend until SIGINT/SIGTERM. `argv` holds the arguments after "backend". Returns the
// process exit code: 0 after a clean stop, 1 when it cannot listen, 2 for bad flags.
int runDemoBackend(int argc, char** argv);

// /bytes/N answers N bytes where byte i is kDemoBytesPattern[i % kDemoBytesPattern.size()].
inline constexpr std::string_view kDemoBytesPattern =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
static_assert(kDemoBytesPattern.size() == 64);

}  // namespace sy::proxy
