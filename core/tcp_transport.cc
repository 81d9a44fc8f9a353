#include "core/tcp_transport.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.h"
#include "core/loop_context.h"

namespace sy::core {
namespace {

uv_handle_t* pollAsHandle(uv_poll_t* poll) { return reinterpret_cast<uv_handle_t*>(poll); }

// sendmsg takes at most IOV_MAX (1024) buffers; the rest is queued.
constexpr size_t kTcpMaxIovecs = 1024;
// As libuv's streams: read again while reads fill the buffer, but at most this many times per
// wakeup, so that one fast sender does not starve the loop's other connections.
constexpr int kTcpMaxReadsPerWakeup = 32;

int tcpSocketError(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

}  // namespace

TcpTransport::TcpTransport(uv_loop_t* loop) {
  // uv_poll_init needs the socket; until then the handle only carries the loop.
  poll_.loop = loop;
  poll_.data = this;
}

TcpTransport::~TcpTransport() = default;

int TcpTransport::open(int fd) {
  const int rc = uv_poll_init_socket(loop(), &poll_, fd);
  if (rc != 0) return rc;
  poll_.data = this;
  open_ = true;
  return 0;
}

int TcpTransport::accept(uv_stream_t* server) {
  // libuv's listener hands its accepted socket only to a stream handle, which closes the socket
  // with it: take it through a temporary one and keep a duplicate of the descriptor. Only the
  // admin API and the demo backend listen through libuv; the proxy's listeners accept with
  // accept4 and adopt().
  auto* temporary = new uv_tcp_t;
  uv_tcp_init(server->loop, temporary);
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(temporary));
  int fd = -1;
  if (rc == 0) {
    uv_os_fd_t accepted = -1;
    rc = uv_fileno(reinterpret_cast<uv_handle_t*>(temporary), &accepted);
    if (rc == 0) {
      fd = ::fcntl(accepted, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) rc = -errno;
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(temporary),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
  if (rc != 0) return rc;
  // No TCP_NODELAY here: accepted sockets inherit it from the listener.
  return adopt(fd);
}

int TcpTransport::adopt(int fd) {
  // No TCP_NODELAY here either: accept4() gives the socket the listener's options.
  const int rc = open(fd);
  if (rc != 0) ::close(fd);
  return rc;
}

int TcpTransport::connect(const NetAddress& address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = open(fd);
  if (rc != 0) {
    ::close(fd);
    return rc;
  }
  connecting_ = true;
  do {
    rc = ::connect(fd, address.sockaddr_ptr(), address.length());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    // As uv_tcp_connect: a refused connection (loopback refuses within the call) is reported
    // from the loop, other errors now; the owner closes either way.
    const int error = errno;
    if (error != ECONNREFUSED) return -error;
    failLater(-error);
  }
  updatePolling();
  return 0;
}

int TcpTransport::startReading() {
  if (reading_ || closing_) return 0;
  reading_ = true;
  updatePolling();
  return 0;
}

void TcpTransport::stopReading() {
  if (!reading_) return;
  reading_ = false;
  updatePolling();
}

void TcpTransport::updatePolling() {
  if (!open_ || closing_) return;
  uint8_t wanted = 0;
  if (reading_) wanted |= UV_READABLE;
  if (connecting_ || writes_ != nullptr) wanted |= UV_WRITABLE;
  if (wanted == polled_events_) return;
  polled_events_ = wanted;
  if (wanted == 0) {
    uv_poll_stop(&poll_);
    return;
  }
  const int rc = uv_poll_start(&poll_, wanted, &onPoll);
  if (rc != 0) {
    // Only for a descriptor another handle of the loop watches: a bug, not a peer's doing.
    polled_events_ = 0;
    logError("uv_poll_start_failed", {{"error", uv_strerror(rc)}});
  }
}

void TcpTransport::onPoll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<TcpTransport*>(poll->data);
  if (self->closing_) return;
  if (status < 0) {
    // POLLERR: libuv stopped watching. The read, write and connect paths meet the socket's
    // error themselves, as they would have with a uv_tcp_t (bytes that arrived before a reset
    // are still delivered first).
    self->polled_events_ = 0;
    events = UV_READABLE | UV_WRITABLE;
  }
  if (self->writes_ != nullptr && self->writes_->error != 0) {
    const int error = self->writes_->error;
    self->writes_.reset();
    self->connecting_ = false;
    self->reportError(error);
    self->updatePolling();
    return;
  }
  if (self->connecting_) {
    if ((events & UV_WRITABLE) != 0) self->connectReady();
  } else if ((events & UV_READABLE) != 0 && self->reading_) {
    self->readReady();
  }
  if (self->closing_) return;
  if ((events & UV_WRITABLE) != 0 && self->writes_ != nullptr && !self->connecting_) {
    self->writeReady();
    if (self->closing_) return;
  }
  // A shutdownWrite() issued while connecting waits for the connection.
  self->maybeShutdown();
  self->updatePolling();
}

void TcpTransport::connectReady() {
  const int error = tcpSocketError(fd());
  if (error == EINPROGRESS) return;
  connecting_ = false;
  if (error != 0) {
    writes_.reset();
    reportError(-error);
    return;
  }
  // Bytes written while connecting go out from the same poll callback, after this.
  if (callbacks_ != nullptr) callbacks_->onTransportConnected();
}

void TcpTransport::readReady() {
  LoopContext* context = LoopContext::of(loop());
  for (int i = 0; i < kTcpMaxReadsPerWakeup && reading_ && !closing_; ++i) {
    char* buffer = context->readBuffer();
    ssize_t n;
    do {
      n = ::read(fd(), buffer, LoopContext::kReadBufferSize);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      if (callbacks_ != nullptr) {
        callbacks_->onTransportData(buffer, static_cast<size_t>(n));
        // Whatever the callback wrote may point into the shared read buffer: send it now.
        context->writeBatch().flush();
      }
      if (static_cast<size_t>(n) < LoopContext::kReadBufferSize) return;  // drained
      continue;
    }
    if (n == 0) {
      stopReading();
      if (callbacks_ != nullptr) callbacks_->onTransportEof();
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    const int error = -errno;
    stopReading();
    reportError(error);
    return;
  }
}

void TcpTransport::queueUnsent(const uv_buf_t* buffers, size_t count, size_t skip) {
  if (writes_ == nullptr) {
    writes_ = std::make_unique<PendingWrites>();
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += buffers[i].len;
    writes_->bytes.reserve(total - skip);
  }
  for (size_t i = 0; i < count; ++i) {
    if (skip >= buffers[i].len) {
      skip -= buffers[i].len;
      continue;
    }
    writes_->bytes.append(buffers[i].base + skip, buffers[i].len - skip);
    skip = 0;
  }
}

void TcpTransport::write(const uv_buf_t* buffers, size_t count) {
  if (closing_ || count == 0) return;
  size_t sent = 0;
  if (writes_ == nullptr && open_ && !connecting_) {
    msghdr message{};
    // libuv documents uv_buf_t as laid out like struct iovec on Unix.
    message.msg_iov = reinterpret_cast<iovec*>(const_cast<uv_buf_t*>(buffers));
    message.msg_iovlen = std::min(count, kTcpMaxIovecs);
    ssize_t n;
    do {
      // MSG_NOSIGNAL: a peer that is gone is an EPIPE to report, not a SIGPIPE. One buffer (every
      // TLS write: the records of one OpenSSL call) goes by send(): sendmsg() first copies in and
      // checks a msghdr and an iovec array, ~200 ns more per call on this project's test VM
      // (a 53-byte send and its read on loopback, 1.2 M of each, interleaved: 7.9 vs 8.1 us).
      n = count == 1 ? ::send(fd(), buffers[0].base, buffers[0].len, MSG_NOSIGNAL)
                     : ::sendmsg(fd(), &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int error = errno;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        failLater(-error);  // the bytes are lost with the connection
        return;
      }
      n = 0;
    }
    sent = static_cast<size_t>(n);
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += buffers[i].len;
    if (sent == total) return;
  }
  queueUnsent(buffers, count, sent);
  updatePolling();
  if (pendingWriteBytes() > kHighWatermark) above_high_watermark_ = true;
}

void TcpTransport::writeReady() {
  PendingWrites& writes = *writes_;
  while (writes.offset < writes.bytes.size()) {
    const ssize_t n = ::send(fd(), writes.bytes.data() + writes.offset,
                             writes.bytes.size() - writes.offset, MSG_NOSIGNAL);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) break;
      writes_.reset();
      reportError(-error);
      return;
    }
    writes.offset += static_cast<size_t>(n);
  }
  if (writes.offset == writes.bytes.size()) {
    // Give the memory back: an idle connection should own no buffers.
    writes_.reset();
    maybeShutdown();
  } else if (writes.offset > writes.bytes.size() / 2) {
    writes.bytes.erase(0, writes.offset);  // what was written is not kept
    writes.offset = 0;
  }
  const size_t unwritten = writes_ != nullptr ? writes_->bytes.size() - writes_->offset : 0;
  if (above_high_watermark_ && unwritten <= kLowWatermark && !closing_) {
    above_high_watermark_ = false;
    if (callbacks_ != nullptr) callbacks_->onTransportWritable();
  }
}

void TcpTransport::failLater(int uv_status) {
  if (writes_ == nullptr) writes_ = std::make_unique<PendingWrites>();
  if (writes_->error == 0) writes_->error = uv_status;
  // An errored socket polls writable (or POLLERR/POLLHUP): the next poll callback reports it.
  updatePolling();
}

size_t TcpTransport::pendingWriteBytes() const {
  const size_t unwritten = writes_ != nullptr ? writes_->bytes.size() - writes_->offset : 0;
  return unwritten + LoopContext::of(loop())->writeBatch().pendingFor(this);
}

void TcpTransport::shutdownWrite() {
  // Batched bytes must reach the socket before the FIN.
  LoopContext::of(loop())->writeBatch().flush();
  shutdown_requested_ = true;
  maybeShutdown();
}

void TcpTransport::maybeShutdown() {
  if (!shutdown_requested_ || shutdown_started_ || closing_ || !open_ || connecting_ ||
      writes_ != nullptr) {
    return;
  }
  shutdown_started_ = true;
  // A failed shutdown (peer already gone) surfaces as a read error or EOF; nothing to do here.
  ::shutdown(fd(), SHUT_WR);
}

void TcpTransport::close() {
  if (closing_) return;
  LoopContext::of(loop())->writeBatch().forget(this);
  closing_ = true;
  reading_ = false;
  writes_.reset();
  if (open_) {
    const int socket = fd();
    // uv_close stops watching (EPOLL_CTL_DEL) before the descriptor goes; a poll handle leaves
    // the socket itself to its owner.
    uv_close(pollAsHandle(&poll_), &onClose);
    ::close(socket);
    return;
  }
  // Never opened: the owner still hears onTransportClosed from the loop, not from this call.
  auto* deferred = new uv_idle_t;
  uv_idle_init(loop(), deferred);
  deferred->data = this;
  uv_close(reinterpret_cast<uv_handle_t*>(deferred), [](uv_handle_t* handle) {
    auto* self = static_cast<TcpTransport*>(handle->data);
    delete reinterpret_cast<uv_idle_t*>(handle);
    if (self->callbacks_ != nullptr) self->callbacks_->onTransportClosed();
  });
}

void TcpTransport::abort() {
  if (closing_) return;
  // As uv_tcp_close_reset, which refused a handle with a shutdown in progress: once the FIN is
  // out, the close stays an orderly one.
  if (open_ && !shutdown_started_) {
    // Closing with a zero linger time sends an RST instead of a FIN.
    const linger reset{1, 0};
    ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  close();
}

void TcpTransport::onClose(uv_handle_t* handle) {
  auto* self = static_cast<TcpTransport*>(handle->data);
  // The owner may destroy this transport from the callback: touch nothing afterwards.
  if (self->callbacks_ != nullptr) self->callbacks_->onTransportClosed();
}

void TcpTransport::reportError(int status) {
  if (!closing_ && callbacks_ != nullptr) callbacks_->onTransportError(status);
}

NetAddress TcpTransport::peerAddress() const {
  if (!open_) return {};
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getpeername(fd(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
}

}  // namespace sy::core
