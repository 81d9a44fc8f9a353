#include "proxy/command_http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fd_wait.h"
#include "http/http1_parser.h"

namespace sy::proxy {
namespace {

class AnswerCollector final : public http::ParserCallbacks {
 public:
  AnswerCollector(CommandRead read, std::string* body) : read_(read), body_(body) {}
  HeadAction onHeadComplete() override {
    head_done_ = true;
    return kProceed;
  }
  void onBody(const char* data, size_t length) override {
    if (read_ == CommandRead::kWholeAnswer) body_->append(data, length);
  }
  void onMessageComplete() override { message_done_ = true; }
  bool done() const { return read_ == CommandRead::kHeadOnly ? head_done_ : message_done_; }

 private:
  CommandRead read_;
  std::string* body_;
  bool head_done_ = false;
  bool message_done_ = false;
};

absl::Status connectBefore(int fd, const core::NetAddress& address,
                           std::chrono::steady_clock::time_point deadline) {
  if (::connect(fd, address.sockaddr_ptr(), address.length()) != 0 && errno != EINPROGRESS) {
    return absl::UnavailableError(std::strerror(errno));
  }
  if (!core::waitForFd(fd, POLLOUT, deadline)) {
    return absl::DeadlineExceededError("connect timed out");
  }
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return absl::UnavailableError(std::strerror(error));
  return absl::OkStatus();
}

absl::Status sendBefore(int fd, std::string_view request,
                        std::chrono::steady_clock::time_point deadline) {
  size_t sent = 0;
  while (sent < request.size()) {
    if (!core::waitForFd(fd, POLLOUT, deadline)) {
      return absl::DeadlineExceededError("send timed out");
    }
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return absl::UnavailableError(std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandAnswer> exchangeOnce(const core::NetAddress& address,
                                           std::string_view request, CommandRead read,
                                           std::chrono::steady_clock::time_point deadline) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (absl::Status connected = connectBefore(fd, address, deadline); !connected.ok()) {
    return connected;
  }
  if (absl::Status sent = sendBefore(fd, request, deadline); !sent.ok()) return sent;

  CommandAnswer answer;
  AnswerCollector collector(read, &answer.body);
  http::Http1Parser parser(http::Http1Parser::Type::kResponse, &collector);
  char buffer[4096];
  while (!collector.done()) {
    if (!core::waitForFd(fd, POLLIN, deadline)) {
      return absl::DeadlineExceededError("no answer in time");
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) {
      // A body delimited by the close ends here; before a head, there is no answer.
      if (read == CommandRead::kWholeAnswer && parser.statusCode() != 0) break;
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

}  // namespace sy::proxy
