#include "proxy/upgrade_command.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/net_address.h"
#include "proxy/command_http_client.h"

namespace sy::proxy {
namespace {

using Clock = std::chrono::steady_clock;
// Above the server's own bound on the new process's start (Upgrader::kReadyTimeoutMs, 60 s).
constexpr std::chrono::seconds kUpgradeDeadline{90};

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

int usage() {
  std::fputs("usage: switchyard upgrade [HOST:PORT] [--binary PATH]\n", stderr);
  return 2;
}

}  // namespace

int runUpgradeCommand(int argc, char** argv) {
  std::string target = "127.0.0.1:9901";
  if (const char* admin = std::getenv("SWITCHYARD_ADMIN"); admin != nullptr && *admin != '\0') {
    target = admin;
  }
  std::string binary;
  bool target_given = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--binary" && i + 1 < argc) {
      binary = argv[++i];
    } else if (arg == "-h" || arg == "--help" || arg.empty() || arg[0] == '-' || target_given) {
      return usage();
    } else {
      target = std::string(arg);
      target_given = true;
    }
  }
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(target);
  if (!address.ok()) {
    std::fprintf(stderr, "switchyard upgrade: %s\n",
                 std::string(address.status().message()).c_str());
    return 2;
  }
  std::string request = "POST /admin/upgrade";
  if (!binary.empty()) request += "?binary=" + percentEncode(binary);
  request += " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n";
  if (const char* token = std::getenv("SWITCHYARD_ADMIN_TOKEN"); token != nullptr && *token) {
    request += std::string("Authorization: Bearer ") + token + "\r\n";
  }
  request += "\r\n";
  absl::StatusOr<CommandAnswer> answer =
      exchangeOnce(*address, request, CommandRead::kWholeAnswer, Clock::now() + kUpgradeDeadline);
  if (!answer.ok()) {
    std::fprintf(stderr, "switchyard upgrade: %s: %s\n", target.c_str(),
                 std::string(answer.status().message()).c_str());
    return 1;
  }
  std::fputs(answer->body.c_str(), answer->status == 200 ? stdout : stderr);
  return answer->status == 200 ? 0 : 1;
}

}  // namespace sy::proxy
