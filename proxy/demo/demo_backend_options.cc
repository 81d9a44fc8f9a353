#include "proxy/demo/demo_backend_options.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::proxy {
namespace {

using core::toAbsl;

constexpr int kMaxThreads = 256;

constexpr std::string_view kHelp =
    R"(usage: switchyard backend --name NAME --listen HOST:PORT [flags]

A small, fast HTTP/1.1 backend for demos, tests and benchmarks.

Flags:
  --name NAME             required; the default body is "NAME\n" and every response carries
                          "X-Backend: NAME"
  --listen HOST:PORT      required; port 0 picks a free port. The address actually bound is
                          logged on stderr as {"event":"backend_listening","address":...}
  --threads N             N event loops, each with its own SO_REUSEPORT listener (default 1)
  --delay DURATION        answer every request except /health and /control/* after this delay,
                          e.g. 150ms, 2s (default 0)
  --fail-rate P           answer this share (0..1) of the requests except /health and
                          /control/* with --fail-status; deterministic: with P = 0.25 every
                          fourth request of a loop fails (default 0)
  --fail-status CODE      status of the injected failures (default 500)
  --health-status CODE    status /health answers (default 200)
  --reset-rate P          close this share (0..1) of the requests except /health and
                          /control/* with a TCP RST instead of an answer, once the request was
                          read; deterministic like --fail-rate (default 0)
  --shutdown-grace DUR    on SIGINT/SIGTERM, how long in-flight responses may take before the
                          remaining connections are closed (default 5s)
  --log-requests          for every request read completely (any path), log one line on stderr:
                          {"event":"request_received","backend","method","target","version",
                          "headers":[[name,value],...],"body_bytes","body_sha256"}; every
                          request body is hashed (SHA-256, streamed; the hash of nothing when
                          there is no body). Takes no value (default off)
  --help                  this text

Endpoints:
  GET /health                        --health-status; body "ok\n" (2xx/3xx) or "unhealthy\n"
  POST /control/health?status=CODE   change the /health status at run time (all loops)
  POST /control/fail?rate=P&status=CODE
                                     change the failure injection at run time (all loops)
  GET /control/stats                 JSON {"requests": N, "connections": M}: request heads
                                     received (any path but /control/*, counted before the
                                     body is read) and connections accepted, over all loops
  /delay/MS                          answer after MS milliseconds (plus --delay)
  /status/CODE                       answer CODE (200-599), body "NAME\n" (none for 204, 304)
  /bytes/N                           N bytes of a repeating 64-byte pattern, Content-Length;
  /bytes/N?chunked=1                 the same with chunked encoding (HTTP/1.1 clients)
  /echo                              any method; hashes the request body (SHA-256, streamed) and
                                     answers JSON {"backend","method","path","version",
                                     "headers":[[name,value],...],"body_bytes","body_sha256"};
                                     honours "Expect: 100-continue"
  /close                             answer, then close the connection (Connection: close)
  /reset                             close the connection with a TCP RST, no answer
  /ws  (with "Upgrade: websocket")   101 Switching Protocols, then echo every byte back
                                     (a raw tunnel, no WebSocket framing)
  anything else                      200 "NAME\n", Content-Type: text/plain

Keep-alive, pipelining, HTTP/1.0 and "Connection: close" are honoured. Malformed requests get
400 and the connection is closed. SIGINT/SIGTERM stop listening, close idle connections, finish
in-flight responses and exit 0.
)";

bool validHeaderValue(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

absl::Status parseInt(std::string_view flag, std::string_view text, int min, int max, int* out) {
  int value = 0;
  if (text.empty() || text.front() == '+' || !absl::SimpleAtoi(toAbsl(text), &value) ||
      value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(toAbsl(flag), ": \"", toAbsl(text),
                                                   "\" is not an integer in ", min, "..", max));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status parseDuration(std::string_view flag, std::string_view text, absl::Duration* out) {
  absl::Duration value;
  if (!absl::ParseDuration(toAbsl(text), &value) || value < absl::ZeroDuration() ||
      value > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat(toAbsl(flag), ": \"", toAbsl(text),
                     "\" is not a duration between 0 and 24h (examples: 150ms, 2s, 1m)"));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

std::string_view demoBackendHelp() { return kHelp; }

absl::StatusOr<DemoBackendOptions> parseDemoBackendArgs(const std::vector<std::string_view>& args) {
  DemoBackendOptions options;
  std::optional<std::string_view> listen;
  bool have_name = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h") {
      options.help = true;
      return options;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    std::optional<std::string_view> inline_value;
    if (flag.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", toAbsl(flag), "\""));
    }
    if (const size_t eq = flag.find('='); eq != std::string_view::npos) {
      inline_value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--log-requests") {
      if (inline_value.has_value()) {
        return absl::InvalidArgumentError("--log-requests takes no value");
      }
      options.log_requests = true;
      continue;
    }
    const bool known = flag == "--name" || flag == "--listen" || flag == "--threads" ||
                       flag == "--delay" || flag == "--fail-rate" || flag == "--fail-status" ||
                       flag == "--health-status" || flag == "--shutdown-grace" ||
                       flag == "--reset-rate";
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", toAbsl(flag)));
    std::string_view value;
    if (inline_value.has_value()) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(toAbsl(flag), " needs a value"));
    }

    absl::Status status;
    if (flag == "--name") {
      if (value.empty() || !validHeaderValue(value)) {
        return absl::InvalidArgumentError(
            "--name: must be non-empty printable text (it is sent as a header value)");
      }
      options.name = std::string(value);
      have_name = true;
    } else if (flag == "--listen") {
      listen = value;
    } else if (flag == "--threads") {
      status = parseInt(flag, value, 1, kMaxThreads, &options.threads);
    } else if (flag == "--delay") {
      status = parseDuration(flag, value, &options.delay);
    } else if (flag == "--shutdown-grace") {
      status = parseDuration(flag, value, &options.shutdown_grace);
    } else if (flag == "--fail-rate" || flag == "--reset-rate") {
      double rate = 0;
      if (!absl::SimpleAtod(toAbsl(value), &rate) || !std::isfinite(rate) || rate < 0 || rate > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(toAbsl(flag), ": \"", toAbsl(value), "\" is not a number in 0..1"));
      }
      (flag == "--fail-rate" ? options.fail_rate : options.reset_rate) = rate;
    } else if (flag == "--fail-status") {
      status = parseInt(flag, value, 200, 599, &options.fail_status);
    } else if (flag == "--health-status") {
      status = parseInt(flag, value, 200, 599, &options.health_status);
    }
    if (!status.ok()) return status;
  }
  if (!have_name) return absl::InvalidArgumentError("--name is required");
  if (!listen.has_value()) return absl::InvalidArgumentError("--listen is required");
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(*listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: ", address.status().message()));
  }
  options.listen = *address;
  return options;
}

}  // namespace sy::proxy
