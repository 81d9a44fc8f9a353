#include "tests/support/webhook_receiver.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {

WebhookReceiver::WebhookReceiver(int status) : status_(status) {
  listen_fd_ = listenOnLoopback(16, &port_);
  if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  if (listen_fd_ >= 0 && wake_[0] >= 0) thread_ = std::thread([this] { run(); });
}

WebhookReceiver::~WebhookReceiver() {
  if (wake_[1] >= 0) ::close(wake_[1]);  // wakes every poll of the thread
  if (thread_.joinable()) thread_.join();
  if (wake_[0] >= 0) ::close(wake_[0]);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string WebhookReceiver::url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<WebhookReceiver::Call> WebhookReceiver::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

size_t WebhookReceiver::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_.size();
}

bool WebhookReceiver::waitReadable(int fd) {
  pollfd entries[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (::poll(entries, 2, -1) < 0) {
  }
  return entries[1].revents == 0;
}

void WebhookReceiver::run() {
  while (waitReadable(listen_fd_)) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    ::close(fd);
  }
}

void WebhookReceiver::serve(int fd) {
  std::string data;
  char buffer[4096];
  size_t head_end = std::string::npos;
  size_t length = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        // The client is ours (WebhookClient): one Content-Length, no chunking.
        std::string lower = data.substr(0, head_end);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const size_t at = lower.find("\r\ncontent-length:");
        if (at != std::string::npos) {
          const size_t end = lower.find("\r\n", at + 2);
          (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(at + 17, end - at - 17)),
                                 &length);
        }
      }
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    const ssize_t n = waitReadable(fd) ? ::recv(fd, buffer, sizeof buffer, 0) : 0;
    if (n <= 0) return;
    data.append(buffer, static_cast<size_t>(n));
  }
  Call call;
  const size_t space = data.find(' ');
  call.target = data.substr(space + 1, data.find(' ', space + 1) - space - 1);
  call.body = nlohmann::json::parse(data.substr(head_end + 4, length), nullptr, false);
  if (call.body.is_discarded()) call.body = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back(std::move(call));
  }
  const int status = status_.load();
  const std::string response =
      absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  (void)!::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

}  // namespace sy::testing
