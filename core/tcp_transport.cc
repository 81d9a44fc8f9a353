#include "core/tcp_transport.h"

#include <unistd.h>

#include <utility>

#include "core/log.h"
#include "core/loop_context.h"

namespace sy::core {
namespace {

uv_stream_t* asStream(uv_tcp_t* tcp) { return reinterpret_cast<uv_stream_t*>(tcp); }
uv_handle_t* asHandle(uv_tcp_t* tcp) { return reinterpret_cast<uv_handle_t*>(tcp); }

}  // namespace

TcpTransport::TcpTransport(uv_loop_t* loop) {
  // uv_tcp_init cannot fail for AF_UNSPEC: it only initialises the handle structure.
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
}

TcpTransport::~TcpTransport() = default;

int TcpTransport::accept(uv_stream_t* server) {
  // No TCP_NODELAY here: accepted sockets inherit it from the listener (openReusePortSocket).
  return uv_accept(server, asStream(&tcp_));
}

int TcpTransport::adopt(int fd) {
  // No TCP_NODELAY here either: accept4() gives the socket the listener's options.
  const int rc = uv_tcp_open(&tcp_, fd);
  if (rc != 0) ::close(fd);
  return rc;
}

int TcpTransport::connect(const NetAddress& address) {
  uv_tcp_nodelay(&tcp_, 1);
  // Owned by libuv until onConnect, which always runs (with UV_ECANCELED after a close): the
  // transport keeps no pointer to it.
  auto* request = new uv_connect_t;
  request->data = this;
  const int rc = uv_tcp_connect(request, &tcp_, address.sockaddr_ptr(), &onConnect);
  if (rc != 0) delete request;
  return rc;
}

int TcpTransport::startReading() {
  if (reading_ || closing_) return 0;
  const int rc = uv_read_start(asStream(&tcp_), &allocSharedReadBuffer, &onRead);
  if (rc == 0) reading_ = true;
  return rc;
}

void TcpTransport::stopReading() {
  if (!reading_) return;
  uv_read_stop(asStream(&tcp_));
  reading_ = false;
}

void TcpTransport::write(const uv_buf_t* buffers, size_t count) {
  if (closing_ || count == 0) return;
  if (writes_ == nullptr) {
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += buffers[i].len;
    // EAGAIN (socket full, or still connecting) and hard errors both fall through to uv_write,
    // which queues the bytes or reports the error from its callback.
    const int written_or_error =
        uv_try_write(asStream(&tcp_), buffers, static_cast<unsigned>(count));
    size_t skip = written_or_error > 0 ? static_cast<size_t>(written_or_error) : 0;
    if (skip == total) return;
    writes_ = std::make_unique<PendingWrites>();
    writes_->request.data = this;
    writes_->in_flight.reserve(total - skip);
    for (size_t i = 0; i < count; ++i) {
      if (skip >= buffers[i].len) {
        skip -= buffers[i].len;
        continue;
      }
      writes_->in_flight.append(buffers[i].base + skip, buffers[i].len - skip);
      skip = 0;
    }
    startQueuedWrite();
    if (writes_ == nullptr) return;  // aborted
  } else {
    for (size_t i = 0; i < count; ++i) writes_->queued.append(buffers[i].base, buffers[i].len);
  }
  if (pendingWriteBytes() > kHighWatermark) above_high_watermark_ = true;
}

void TcpTransport::startQueuedWrite() {
  uv_buf_t buffer =
      uv_buf_init(writes_->in_flight.data(), static_cast<unsigned>(writes_->in_flight.size()));
  const int rc = uv_write(&writes_->request, asStream(&tcp_), &buffer, 1, &onWrite);
  if (rc != 0) {
    // Only possible when the stream is no longer writable (after shutdown): an owner bug, but
    // one connection's bug must not take the process down.
    writes_.reset();
    logError("uv_write_failed", {{"error", uv_strerror(rc)}});
    abort();
  }
}

void TcpTransport::onWrite(uv_write_t* request, int status) {
  auto* self = static_cast<TcpTransport*>(request->data);
  if (self->closing_) return;  // the bytes are dropped with the transport
  PendingWrites& writes = *self->writes_;
  if (status < 0) {
    self->writes_.reset();
    self->reportError(status);
    return;
  }
  if (!writes.queued.empty()) {
    writes.in_flight.clear();
    std::swap(writes.in_flight, writes.queued);
    self->startQueuedWrite();
  } else {
    // Give the memory back: an idle connection should own no buffers.
    self->writes_.reset();
    self->maybeShutdown();
  }
  const size_t unwritten =
      self->writes_ != nullptr ? self->writes_->in_flight.size() + self->writes_->queued.size() : 0;
  if (self->above_high_watermark_ && unwritten <= kLowWatermark && !self->closing_) {
    self->above_high_watermark_ = false;
    if (self->callbacks_ != nullptr) self->callbacks_->onTransportWritable();
  }
}

void TcpTransport::onConnect(uv_connect_t* request, int status) {
  auto* self = static_cast<TcpTransport*>(request->data);
  delete request;
  if (self->closing_) return;
  if (status < 0) {
    self->reportError(status);
    return;
  }
  if (self->callbacks_ != nullptr) self->callbacks_->onTransportConnected();
}

void TcpTransport::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpTransport*>(stream->data);
  if (self->closing_ || self->callbacks_ == nullptr) return;
  if (nread > 0) {
    self->callbacks_->onTransportData(buf->base, static_cast<size_t>(nread));
    // Whatever the callback wrote may point into the shared read buffer: send it now.
    LoopContext::of(stream->loop)->writeBatch().flush();
  } else if (nread == UV_EOF) {
    self->stopReading();
    self->callbacks_->onTransportEof();
  } else if (nread < 0) {
    self->stopReading();
    self->reportError(static_cast<int>(nread));
  }
}

size_t TcpTransport::pendingWriteBytes() const {
  const size_t unwritten =
      writes_ != nullptr ? writes_->in_flight.size() + writes_->queued.size() : 0;
  return unwritten + LoopContext::of(reinterpret_cast<const uv_handle_t*>(&tcp_))
                         ->writeBatch()
                         .pendingFor(this);
}

void TcpTransport::shutdownWrite() {
  // Batched bytes must reach the socket before the FIN.
  LoopContext::of(reinterpret_cast<const uv_handle_t*>(&tcp_))->writeBatch().flush();
  shutdown_requested_ = true;
  maybeShutdown();
}

void TcpTransport::maybeShutdown() {
  if (!shutdown_requested_ || shutdown_started_ || closing_ || writes_ != nullptr) {
    return;
  }
  shutdown_started_ = true;
  auto* request = new uv_shutdown_t;
  request->data = this;
  if (uv_shutdown(request, asStream(&tcp_), &onShutdown) != 0) delete request;
}

void TcpTransport::onShutdown(uv_shutdown_t* request, int /*status*/) {
  // A failed shutdown (peer already gone) surfaces as a read error or EOF; nothing to do here.
  delete request;
}

void TcpTransport::close() {
  if (closing_) return;
  LoopContext::of(asHandle(&tcp_)->loop)->writeBatch().forget(this);
  closing_ = true;
  reading_ = false;
  uv_close(asHandle(&tcp_), &onClose);
}

void TcpTransport::abort() {
  if (closing_) return;
  uv_os_fd_t fd;
  // uv_tcp_close_reset refuses handles without a socket or with a shutdown in progress.
  LoopContext::of(asHandle(&tcp_)->loop)->writeBatch().forget(this);
  if (uv_fileno(asHandle(&tcp_), &fd) == 0 && !shutdown_started_ &&
      uv_tcp_close_reset(&tcp_, &onClose) == 0) {
    closing_ = true;
    reading_ = false;
    return;
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
  sockaddr_storage storage{};
  int length = sizeof storage;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
}

}  // namespace sy::core
