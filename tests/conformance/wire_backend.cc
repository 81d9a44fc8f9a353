#include "tests/conformance/wire_backend.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "http/http1_parser.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {

struct WireBackend::Connection final : http::ParserCallbacks {
  explicit Connection(int socket) : fd(socket), parser(http::Http1Parser::Type::kRequest, this) {}
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char*, size_t) override {}
  void onMessageComplete() override { ++complete; }

  int fd;
  http::Http1Parser parser;
  int complete = 0;
  bool broken = false;  // the parser refused the stream: keep recording, stop answering
};

WireBackend::WireBackend(std::vector<std::string> responses, bool dribble)
    : responses_(std::move(responses)), dribble_(dribble) {
  listen_fd_ = listenOnLoopback(16, &port_);
  if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  if (listen_fd_ >= 0 && wake_[0] >= 0) thread_ = std::thread([this] { run(); });
}

WireBackend::~WireBackend() {
  if (wake_[1] >= 0) ::close(wake_[1]);  // wakes the poll
  if (thread_.joinable()) thread_.join();
  if (wake_[0] >= 0) ::close(wake_[0]);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string WireBackend::received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

void WireBackend::run() {
  std::vector<std::unique_ptr<Connection>> connections;
  char buffer[16384];
  while (true) {
    std::vector<pollfd> entries = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& c : connections) entries.push_back({c->fd, POLLIN, 0});
    if (::poll(entries.data(), entries.size(), -1) < 0) continue;
    if (entries[0].revents != 0) break;
    if (entries[1].revents != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ++connections_;
        connections.push_back(std::make_unique<Connection>(fd));
      }
    }
    for (size_t i = 2; i < entries.size(); ++i) {
      if (entries[i].revents == 0) continue;
      Connection& c = *connections[i - 2];
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        received_.append(buffer, static_cast<size_t>(n));
      }
      const char* data = buffer;
      size_t left = static_cast<size_t>(n);
      while (left > 0 && !c.broken) {
        size_t consumed = 0;
        const http::Http1Parser::Result result = c.parser.execute(data, left, &consumed);
        if (result == http::Http1Parser::Result::kError) c.broken = true;
        if (result != http::Http1Parser::Result::kPaused) break;
        data += consumed;
        left -= consumed;
        c.parser.resume();
        const int index = requests_++;
        const std::string response = static_cast<size_t>(index) < responses_.size()
                                         ? responses_[static_cast<size_t>(index)]
                                         : std::string(kOkResponse);
        const size_t step = dribble_ ? 1 : response.size();
        for (size_t sent = 0; sent < response.size(); sent += step) {
          (void)!::send(c.fd, response.data() + sent, std::min(step, response.size() - sent),
                        MSG_NOSIGNAL);
        }
      }
    }
    std::erase_if(connections, [](const auto& c) { return c->fd < 0; });
  }
  for (const auto& c : connections) ::close(c->fd);
}

}  // namespace sy::testing
