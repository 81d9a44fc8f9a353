#include "proxy/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "proxy/downstream_connection.h"
#include "proxy/worker.h"

namespace sy::proxy {

Listener::~Listener() { close(); }

int Listener::open(int fd) {
  poll_ = new uv_poll_t;
  int rc = uv_poll_init(worker_.loop(), poll_, fd);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    ::close(fd);
    return rc;
  }
  fd_ = fd;
  poll_->data = this;
  rc = uv_poll_start(poll_, UV_READABLE, &Listener::onReadable);
  if (rc != 0) close();
  return rc;
}

void Listener::close() {
  resume_.reset();
  if (poll_ == nullptr) return;
  // libuv must stop polling the socket before it is closed: the poll handle's close callback
  // closes it (the descriptor travels in the handle's data).
  uv_poll_stop(poll_);
  poll_->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd_));
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
    ::close(static_cast<int>(reinterpret_cast<intptr_t>(handle->data)));
    delete reinterpret_cast<uv_poll_t*>(handle);
  });
  poll_ = nullptr;
  fd_ = -1;
}

void Listener::onReadable(uv_poll_t* poll, int status, int /*events*/) {
  auto* self = static_cast<Listener*>(poll->data);
  if (status < 0) {
    self->acceptFailed(status);
    return;
  }
  self->acceptPending();
}

void Listener::acceptPending() {
  for (int i = 0; i < kMaxAcceptsPerWakeup && fd_ >= 0; ++i) {
    // Accepted sockets get the listener's TCP_NODELAY (set once on the listening socket).
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      acceptFailed(-errno);
      // Out of descriptors (or memory): the socket stays readable, so polling on would spin.
      // Pause instead; the clients wait in the backlog.
      pauseAccepting();
      return;
    }
    // Over a connection limit: accepted and closed at once, counted in
    // switchyard_limited_total. (HAProxy's maxconn leaves them in the backlog instead, where
    // a flood's connections would sit in front of everyone else's.)
    ConnectionTicket ticket;
    if (worker_.clientLimits().admit(id_, worker_.listenerSettings(id_),
                                     reinterpret_cast<const sockaddr*>(&peer), &ticket)) {
      ::close(fd);
      continue;
    }
    auto* connection = new DownstreamConnection(worker_, id_);
    connection->holdTicket(std::move(ticket));
    const int rc = connection->accept(fd);
    if (rc != 0) acceptFailed(rc);
  }
}

void Listener::pauseAccepting() {
  if (poll_ == nullptr) return;
  if (!resume_) {
    resume_.init(worker_.loop(), uv_timer_init);
    resume_.get()->data = this;
  }
  uv_poll_stop(poll_);
  uv_timer_start(
      resume_.get(),
      [](uv_timer_t* timer) {
        auto* self = static_cast<Listener*>(timer->data);
        if (self->poll_ != nullptr) uv_poll_start(self->poll_, UV_READABLE, &Listener::onReadable);
      },
      kPauseAfterFdLimitMs, 0);
}

void Listener::acceptFailed(int uv_status) {
  const bool fd_limit = uv_status == UV_EMFILE || uv_status == UV_ENFILE;
  core::WorkerStats& stats = worker_.stats();
  (fd_limit ? stats.accept_fd_limit : stats.accept_failed_other).add();
  const std::optional<uint64_t> suppressed =
      accept_failed_log_.admit(uv_err_name(uv_status), uv_now(worker_.loop()));
  if (!suppressed.has_value()) return;
  core::logWarn(fd_limit ? "accept_failed_fd_limit" : "accept_failed",
                {{"worker", worker_.index()},
                 {"listener", worker_.listenerSettings(id_).name},
                 {"error", uv_strerror(uv_status)},
                 {"suppressed_since_last", *suppressed}});
}

}  // namespace sy::proxy
