#include "proxy/control/upgrade_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sy::proxy::control {
namespace {

// Far above what a handoff holds (a listener's socket per worker; the state, a few KiB).
constexpr size_t kMaxMessageBytes = 1 << 20;
constexpr size_t kMaxFdsPerMessage = 16;
// The old process sends everything at once; a gap this long means it is gone.
constexpr int kHandoffTimeoutMs = 10000;

absl::Status errnoError(const char* what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status sendChannelMessage(int channel, const nlohmann::json& body,
                                const std::vector<int>& fds) {
  if (fds.size() > kMaxFdsPerMessage) return absl::InvalidArgumentError("too many descriptors");
  const std::string text = body.dump();
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  if (!fds.empty()) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(channel, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return errnoError("sendmsg");
  return absl::OkStatus();
}

absl::StatusOr<ChannelMessage> receiveChannelMessage(int channel, int timeout_ms) {
  pollfd pfd{channel, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return errnoError("poll");
  if (ready == 0) return absl::DeadlineExceededError("no message in time");
  std::string buffer(kMaxMessageBytes, '\0');
  iovec iov{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errnoError("recvmsg");
  ChannelMessage received;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      received.fds.push_back(fd);
    }
  }
  auto fail = [&](absl::Status status) {
    for (int fd : received.fds) ::close(fd);
    return status;
  };
  if (n == 0) return fail(absl::UnavailableError("the other process closed the channel"));
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    return fail(absl::DataLossError("message truncated"));
  }
  received.body = nlohmann::json::parse(buffer.data(), buffer.data() + n, nullptr, false);
  if (!received.body.is_object()) return fail(absl::DataLossError("malformed message"));
  return received;
}

absl::StatusOr<nlohmann::json> receiveHandoff(int channel, InheritedSockets* sockets) {
  for (;;) {
    absl::StatusOr<ChannelMessage> message = receiveChannelMessage(channel, kHandoffTimeoutMs);
    if (!message.ok()) return message.status();
    if (message->body.contains("state")) {
      for (int fd : message->fds) ::close(fd);
      return std::move(message->body["state"]);
    }
    const nlohmann::json& socket = message->body.value("socket", nlohmann::json::object());
    if (message->fds.size() != 1 || !socket.is_object()) {
      for (int fd : message->fds) ::close(fd);
      return absl::DataLossError("malformed socket message");
    }
    const auto kind = socket.value("kind", "") == "admin" ? InheritedSockets::Kind::kAdmin
                                                          : InheritedSockets::Kind::kListener;
    sockets->add(kind, socket.value("name", ""), message->fds.front());
  }
}

}  // namespace sy::proxy::control
