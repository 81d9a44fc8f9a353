#include "proxy/health_probe.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "core/net_address.h"
#include "proxy/command_http_client.h"

namespace sy::proxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kProbeDeadline{2000};

// The status code of GET `path` at `address`, or why there is none.
absl::StatusOr<int> probe(const core::NetAddress& address, const std::string& path) {
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  absl::StatusOr<CommandAnswer> answer =
      exchangeOnce(address, request, CommandRead::kHeadOnly, Clock::now() + kProbeDeadline);
  if (!answer.ok()) return answer.status();
  return answer->status;
}

}  // namespace

int runHealthProbe(int argc, char** argv) {
  std::string target = "127.0.0.1:9901";
  if (const char* admin = std::getenv("SWITCHYARD_ADMIN"); admin != nullptr && *admin != '\0') {
    target = admin;
  }
  std::string path = "/healthz";
  if (argc >= 1) target = argv[0];
  if (argc >= 2) path = argv[1];
  if (argc > 2 || path.empty() || path[0] != '/') {
    std::fputs("usage: switchyard healthcheck [HOST:PORT] [/PATH]\n", stderr);
    return 2;
  }
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(target);
  if (!address.ok()) {
    std::fprintf(stderr, "switchyard healthcheck: %s\n",
                 std::string(address.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<int> status = probe(*address, path);
  if (!status.ok()) {
    std::fprintf(stderr, "switchyard healthcheck: %s%s: %s\n", target.c_str(), path.c_str(),
                 std::string(status.status().message()).c_str());
    return 1;
  }
  if (*status != 200) {
    std::fprintf(stderr, "switchyard healthcheck: %s%s: status %d\n", target.c_str(), path.c_str(),
                 *status);
    return 1;
  }
  return 0;
}

}  // namespace sy::proxy
