#include "proxy/health_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "core/fd_wait.h"
#include "core/net_address.h"
#include "http/http1_parser.h"

namespace sy::proxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kProbeDeadline{2000};

class StatusOnly final : public http::ParserCallbacks {
 public:
  HeadAction onHeadComplete() override {
    head_done = true;
    return kProceed;
  }
  void onBody(const char*, size_t) override {}
  void onMessageComplete() override {}
  bool head_done = false;
};

// The status code of GET `path` at `address`, or why there is none.
absl::StatusOr<int> probe(const core::NetAddress& address, const std::string& path) {
  const Clock::time_point deadline = Clock::now() + kProbeDeadline;
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

  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
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

  StatusOnly callbacks;
  http::Http1Parser parser(http::Http1Parser::Type::kResponse, &callbacks);
  char buffer[4096];
  while (!callbacks.head_done) {
    if (!core::waitForFd(fd, POLLIN, deadline))
      return absl::DeadlineExceededError("no answer in time");
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) return absl::UnavailableError("closed before a response head");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(std::strerror(errno));
    }
    size_t consumed = 0;
    if (parser.execute(buffer, static_cast<size_t>(n), &consumed) ==
        http::Http1Parser::Result::kError) {
      return absl::DataLossError("malformed response");
    }
  }
  return parser.statusCode();
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
