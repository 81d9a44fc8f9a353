#include "proxy/upgrade_command.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/fd_wait.h"
#include "core/net_address.h"
#include "http/http1_parser.h"

namespace sy::proxy {
namespace {

using Clock = std::chrono::steady_clock;
// Above the server's own bound on the new process's start (Upgrader::kReadyTimeoutMs, 60 s).
constexpr std::chrono::seconds kUpgradeDeadline{90};

struct Answer {
  int status = 0;
  std::string body;
};

class Collect final : public http::ParserCallbacks {
 public:
  explicit Collect(std::string* body) : body_(body) {}
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char* data, size_t length) override { body_->append(data, length); }
  void onMessageComplete() override { done = true; }
  bool done = false;

 private:
  std::string* body_;
};

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

absl::StatusOr<Answer> post(const core::NetAddress& address, const std::string& request) {
  const Clock::time_point deadline = Clock::now() + kUpgradeDeadline;
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, address.sockaddr_ptr(), address.length()) != 0 && errno != EINPROGRESS) {
    return absl::UnavailableError(std::strerror(errno));
  }
  if (!core::waitForFd(fd, POLLOUT, deadline))
    return absl::DeadlineExceededError("connect timed out");
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return absl::UnavailableError(std::strerror(error));
  size_t sent = 0;
  while (sent < request.size()) {
    if (!core::waitForFd(fd, POLLOUT, deadline))
      return absl::DeadlineExceededError("send timed out");
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return absl::UnavailableError(std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  Answer answer;
  Collect callbacks(&answer.body);
  http::Http1Parser parser(http::Http1Parser::Type::kResponse, &callbacks);
  char buffer[4096];
  while (!callbacks.done) {
    if (!core::waitForFd(fd, POLLIN, deadline))
      return absl::DeadlineExceededError("no answer in time");
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) {
      if (parser.statusCode() != 0) break;  // a body delimited by the close
      return absl::UnavailableError("closed before an answer");
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(std::strerror(errno));
    }
    size_t consumed = 0;
    if (parser.execute(buffer, static_cast<size_t>(n), &consumed) ==
        http::Http1Parser::Result::kError) {
      return absl::DataLossError("malformed answer");
    }
  }
  answer.status = parser.statusCode();
  return answer;
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
  absl::StatusOr<Answer> answer = post(*address, request);
  if (!answer.ok()) {
    std::fprintf(stderr, "switchyard upgrade: %s: %s\n", target.c_str(),
                 std::string(answer.status().message()).c_str());
    return 1;
  }
  std::fputs(answer->body.c_str(), answer->status == 200 ? stdout : stderr);
  return answer->status == 200 ? 0 : 1;
}

}  // namespace sy::proxy
