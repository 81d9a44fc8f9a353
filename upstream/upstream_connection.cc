#include "upstream/upstream_connection.h"

#include "core/loop_context.h"
#include "upstream/connection_pool.h"

namespace sy::upstream {
namespace {

// Backends are trusted more than clients, but a runaway head must still not grow memory.
constexpr http::ParserLimits kResponseLimits{/*max_url_bytes=*/0,
                                             /*max_header_bytes=*/64 * 1024,
                                             /*max_header_count=*/200};

}  // namespace

UpstreamConnection::UpstreamConnection(WorkerBackend& backend)
    : backend_(backend),
      transport_(backend.loop()),
      parser_(http::Http1Parser::Type::kResponse, this, kResponseLimits) {
  transport_.setCallbacks(this);
}

UpstreamConnection::~UpstreamConnection() { backend_.timeouts().cancel(this); }

int UpstreamConnection::connect() {
  state_ = State::kConnecting;
  connect_started_ns_ = uv_hrtime();
  const int rc =
      transport_.connect(backend_.info().address, backend_.settings().tls, &backend_.tlsSessions());
  if (rc == 0) scheduleTimeout(backend_.settings().connect_timeout_ms);
  return rc;
}

void UpstreamConnection::scheduleTimeout(uint64_t duration_ms) {
  backend_.timeouts().schedule(this, duration_ms);
}

void UpstreamConnection::attach(UpstreamHandler* handler, bool head_request,
                                bool upgrade_requested) {
  handler_ = handler;
  head_request_ = head_request;
  upgrade_requested_ = upgrade_requested;
  request_complete_ = false;
  head_delivered_ = false;
  interim_response_ = false;
  message_complete_ = false;
  if (state_ == State::kIdle) {
    state_ = State::kActive;
    scheduleTimeout(backend_.settings().idle_timeout_ms);
  }
}

void UpstreamConnection::write(const char* data, size_t length) {
  core::LoopContext::of(backend_.loop())->writeBatch().add(&transport_, data, length);
  noteWrite();
}

void UpstreamConnection::writeCopy(const char* data, size_t length) {
  core::LoopContext::of(backend_.loop())->writeBatch().addCopy(&transport_, data, length);
  noteWrite();
}

void UpstreamConnection::noteWrite() {
  if (state_ == State::kTunnel || (state_ == State::kActive && !request_complete_)) {
    scheduleTimeout(backend_.settings().idle_timeout_ms);
  }
}

void UpstreamConnection::requestComplete() {
  request_complete_ = true;
  if (state_ == State::kActive && !head_delivered_) {
    scheduleTimeout(backend_.settings().response_timeout_ms);
  }
}

void UpstreamConnection::pauseReading() {
  if (reading_paused_ || state_ == State::kClosing) return;
  reading_paused_ = true;
  transport_.stopReading();
  // The client is the slow side now; its own timeout applies.
  backend_.timeouts().cancel(this);
}

void UpstreamConnection::resumeReading() {
  if (!reading_paused_ || state_ == State::kClosing) return;
  reading_paused_ = false;
  transport_.startReading();
  scheduleTimeout(backend_.settings().idle_timeout_ms);
}

void UpstreamConnection::abort() {
  handler_ = nullptr;
  close();
}

void UpstreamConnection::closeIfIdle() {
  if (state_ == State::kIdle) close();
}

void UpstreamConnection::close() {
  if (state_ == State::kClosing) return;
  if (state_ == State::kIdle) backend_.unlinkIdle(this);
  state_ = State::kClosing;
  handler_ = nullptr;
  backend_.timeouts().cancel(this);
  transport_.close();
}

void UpstreamConnection::fail(UpstreamFailure failure, int uv_status) {
  if (state_ == State::kClosing) return;
  UpstreamHandler* handler = handler_;
  const bool started = head_delivered_;
  close();
  if (handler != nullptr) handler->onUpstreamFailure(failure, uv_status, started);
}

void UpstreamConnection::finishExchange() {
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  ++exchanges_;
  const bool reusable = state_ == State::kActive && request_complete_ && parser_.keepAlive() &&
                        backend_.settings().keepalive_max_idle > 0;
  if (reusable) {
    parser_.resume();
    parser_.releaseHead();
    state_ = State::kIdle;
    if (reading_paused_) {
      reading_paused_ = false;
      transport_.startReading();  // idle connections read to notice the backend closing
    }
    backend_.connectionIdle(this);
  } else {
    close();
  }
  if (handler != nullptr) handler->onUpstreamComplete();
}

void UpstreamConnection::onTransportConnected() {
  if (state_ != State::kConnecting) return;
  state_ = State::kActive;
  if (upstream::PoolWorkerStats* pool_stats = backend_.poolStats()) {
    pool_stats->connect_duration.observeNanos(uv_hrtime() - connect_started_ns_);
  }
  if (transport_.secure()) {
    (transport_.sessionResumed() ? backend_.stats().tls_resumed : backend_.stats().tls_full).add();
  }
  const int rc = transport_.startReading();
  if (rc != 0) {
    fail(UpstreamFailure::kConnectFailed, rc);
    return;
  }
  scheduleTimeout(request_complete_ ? backend_.settings().response_timeout_ms
                                    : backend_.settings().idle_timeout_ms);
  if (handler_ != nullptr) handler_->onUpstreamConnected();
}

void UpstreamConnection::onTransportData(const char* data, size_t length) {
  switch (state_) {
    case State::kIdle:
      // A backend may say something (a 408) before closing an idle connection: never reuse it.
      close();
      return;
    case State::kTunnel:
      scheduleTimeout(backend_.settings().idle_timeout_ms);
      if (handler_ != nullptr) handler_->onUpstreamTunnelData(data, length);
      return;
    case State::kActive:
      break;
    case State::kConnecting:
    case State::kClosing:
      return;
  }
  size_t offset = 0;
  while (offset < length) {
    size_t consumed = 0;
    const http::Http1Parser::Result result =
        parser_.execute(data + offset, length - offset, &consumed);
    if (state_ == State::kClosing) return;  // the handler aborted from a callback
    if (result == http::Http1Parser::Result::kError) {
      fail(UpstreamFailure::kProtocolError, 0);
      return;
    }
    if (result == http::Http1Parser::Result::kNeedMore) break;
    offset += consumed;
    if (interim_response_) {  // a 100 Continue or 103: the final response follows
      interim_response_ = false;
      if (parser_.statusCode() != 100 && handler_ != nullptr) {
        handler_->onUpstreamInformational(parser_);
        if (state_ == State::kClosing) return;
      }
      parser_.resume();
      continue;
    }
    if (parser_.statusCode() == 101) {
      state_ = State::kTunnel;
      scheduleTimeout(backend_.settings().idle_timeout_ms);
      if (offset < length && handler_ != nullptr) {
        handler_->onUpstreamTunnelData(data + offset, length - offset);
      }
      return;
    }
    if (offset < length) {
      // Bytes after a complete response that nobody asked for: the connection is unusable.
      parser_.releaseHead();
      state_ = State::kActive;
      request_complete_ = false;
    }
    finishExchange();
    return;
  }
  if (head_delivered_ && !reading_paused_) {
    scheduleTimeout(backend_.settings().idle_timeout_ms);
  }
}

http::ParserCallbacks::HeadAction UpstreamConnection::onHeadComplete() {
  const int status = parser_.statusCode();
  if (status >= 100 && status < 200 && status != 101) {
    interim_response_ = true;
    return kProceed;
  }
  if (status == 101 && !upgrade_requested_) {
    // Switching protocols that nobody asked for: refuse rather than tunnel blindly.
    fail(UpstreamFailure::kProtocolError, 0);
    return kProceed;
  }
  head_delivered_ = true;
  if (!reading_paused_) scheduleTimeout(backend_.settings().idle_timeout_ms);
  HeadAction action = kProceed;
  if (handler_ != nullptr) action = handler_->onUpstreamHead(parser_);
  return head_request_ ? kNoBody : action;
}

void UpstreamConnection::onBody(const char* data, size_t length) {
  if (handler_ != nullptr) handler_->onUpstreamBody(data, length);
}

void UpstreamConnection::onMessageComplete() { message_complete_ = true; }

void UpstreamConnection::onTransportEof() {
  switch (state_) {
    case State::kIdle:
      close();
      return;
    case State::kTunnel:
      if (handler_ != nullptr) handler_->onUpstreamTunnelEof();
      return;
    case State::kActive:
      // A response delimited by the end of the connection completes here.
      if (head_delivered_ && parser_.finish() == http::Http1Parser::Result::kPaused) {
        request_complete_ = false;  // never reuse a closed connection
        finishExchange();
        return;
      }
      fail(UpstreamFailure::kClosedEarly, UV_EOF);
      return;
    case State::kConnecting:
      fail(UpstreamFailure::kConnectFailed, UV_EOF);
      return;
    case State::kClosing:
      return;
  }
}

void UpstreamConnection::onTransportError(int uv_status) {
  switch (state_) {
    case State::kConnecting:
      fail(UpstreamFailure::kConnectFailed, uv_status);
      return;
    case State::kIdle:
      close();
      return;
    case State::kActive:
    case State::kTunnel:
      fail(UpstreamFailure::kClosedEarly, uv_status);
      return;
    case State::kClosing:
      return;
  }
}

void UpstreamConnection::onTimeout() {
  switch (state_) {
    case State::kConnecting:
      fail(UpstreamFailure::kConnectTimeout, UV_ETIMEDOUT);
      return;
    case State::kIdle:
      close();
      return;
    case State::kActive:
      fail(request_complete_ && !head_delivered_ ? UpstreamFailure::kResponseTimeout
                                                 : UpstreamFailure::kIdleTimeout,
           UV_ETIMEDOUT);
      return;
    case State::kTunnel:
      fail(UpstreamFailure::kIdleTimeout, UV_ETIMEDOUT);
      return;
    case State::kClosing:
      return;
  }
}

void UpstreamConnection::onTransportWritable() {
  if (handler_ != nullptr) handler_->onUpstreamWritable();
}

void UpstreamConnection::onTransportClosed() {
  WorkerBackend* backend = &backend_;
  delete this;
  backend->connectionClosed();
}

}  // namespace sy::upstream
