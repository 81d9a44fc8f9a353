#include "proxy/demo/demo_backend_connection.h"

#include <openssl/evp.h>

#include "core/log.h"
#include "http/lingering_close.h"
#include "proxy/demo/demo_backend_worker.h"

// The connection's life: input and pipelining, the order of answers, delays, closing. What each
// endpoint answers is in demo_backend_endpoints.cc.

namespace sy::proxy {
namespace {

// After the peer's FIN: how often to check that our queued bytes are written, and for how long.
constexpr uint64_t kFlushPollMs = 10;
constexpr uint64_t kFlushMaxPolls = 6000;

}  // namespace

DemoConnection::DemoConnection(DemoWorker* worker)
    : worker_(worker),
      transport_(worker->loop()),
      parser_(http::Http1Parser::Type::kRequest, this) {
  transport_.setCallbacks(this);
}

DemoConnection::~DemoConnection() {
  if (sha_ != nullptr) EVP_MD_CTX_free(sha_);
}

void DemoConnection::start(uv_stream_t* server) {
  int rc = transport_.accept(server);
  if (rc == 0) rc = transport_.startReading();
  if (rc != 0) {
    core::logDebug("backend_accept_failed", [&] {
      return nlohmann::json{{"error", uv_strerror(rc)}};
    });
    close();
    return;
  }
  worker_->state().countConnection();
}

void DemoConnection::drain() {
  switch (state_) {
    case State::kReading:
      // Idle between requests: nobody waits for anything here.
      if (!parser_.inMessage()) close();
      break;
    case State::kTunnel:
      close();
      break;
    case State::kResponding:
    case State::kLingering:
    case State::kClosed:
      // The answer in progress finishes, then closeAfterResponse() closes.
      break;
  }
}

void DemoConnection::forceClose() { close(); }

// --- Input -----------------------------------------------------------------------------------

void DemoConnection::onTransportData(const char* data, size_t length) {
  if (state_ == State::kReading) {
    processInput(data, length);
  } else {
    holdOrRelay(data, length);
  }
}

void DemoConnection::holdOrRelay(const char* data, size_t length) {
  switch (state_) {
    case State::kResponding:
      // Hold what arrives (pipelined requests) and stop reading until the answer is done: at
      // most one read's worth is ever buffered.
      pending_.append(data, length);
      transport_.stopReading();
      break;
    case State::kTunnel:
      transport_.write(data, length);
      if (transport_.aboveHighWatermark()) transport_.stopReading();
      break;
    case State::kReading:
    case State::kLingering:
    case State::kClosed:
      break;
  }
}

void DemoConnection::processInput(const char* data, size_t length) {
  while (length > 0 && state_ == State::kReading) {
    const uint64_t completed_before = messages_completed_;
    size_t consumed = 0;
    const http::Http1Parser::Result result = parser_.execute(data, length, &consumed);
    if (result == http::Http1Parser::Result::kError) {
      sendParseError();
      return;
    }
    data += consumed;
    length -= consumed;
    if (result == http::Http1Parser::Result::kNeedMore) break;
    // kPaused: a request ended and onMessageComplete() answered it or started to.
    parser_paused_ = true;
    if (messages_completed_ == completed_before) {
      // llhttp stops for good after an Upgrade/CONNECT request (Http1Parser cannot resume that
      // pause). Such requests are answered with Connection: close, so this is not reached; it
      // guards against spinning if that ever changes.
      startLingeringClose();
      return;
    }
    if (state_ != State::kReading) break;
    parser_.resume();
    parser_paused_ = false;
    if (transport_.aboveHighWatermark()) {
      // The peer sends requests faster than it reads the answers: wait until it catches up.
      blocked_on_write_ = true;
      state_ = State::kResponding;
    }
  }
  // Input after an answer started (pipelined) or after an upgrade (the tunnel's first bytes).
  if (length > 0) holdOrRelay(data, length);
}

// An answer finished asynchronously (timer or drained socket): go on with the held input.
void DemoConnection::resumeInput() {
  if (parser_paused_) {
    parser_.resume();
    parser_paused_ = false;
  }
  if (!pending_.empty()) {
    std::string input;
    input.swap(pending_);
    processInput(input.data(), input.size());
  }
  if (state_ != State::kReading) return;
  if (peer_eof_) {
    closeWhenFlushed();
    return;
  }
  const int rc = transport_.startReading();
  if (rc != 0) close();
}

void DemoConnection::onTransportEof() {
  peer_eof_ = true;
  switch (state_) {
    case State::kReading:
    case State::kTunnel:
    case State::kLingering:
      // Every complete request is answered (the answers may still be queued); a request cut
      // short by the FIN gets nothing.
      closeWhenFlushed();
      break;
    case State::kResponding:
      // Finish this answer and the held requests first (a client may half-close after
      // sending its requests); resumeInput() closes afterwards.
      break;
    case State::kClosed:
      break;
  }
}

void DemoConnection::onTransportError(int uv_status) {
  core::logDebug("backend_connection_error", [&] {
    return nlohmann::json{{"error", uv_strerror(uv_status)}};
  });
  close();
}

void DemoConnection::onTransportWritable() {
  switch (state_) {
    case State::kTunnel: {
      const int rc = transport_.startReading();
      if (rc != 0) close();
      break;
    }
    case State::kResponding:
      if (streaming_) {
        pumpBytes();
      } else if (blocked_on_write_) {
        blocked_on_write_ = false;
        state_ = State::kReading;
        resumeInput();
      }
      break;
    case State::kReading:
    case State::kLingering:
    case State::kClosed:
      break;
  }
}

void DemoConnection::onTransportClosed() {
  worker_->remove(this);
  delete this;
}

void DemoConnection::onMessageComplete() {
  ++messages_completed_;
  if (hash_body_) finishDigest();
  if (worker_->state().logRequests()) logRequest();
  keep_alive_ = parser_.keepAlive();
  const bool control = route_ == Route::kHealth || route_ == Route::kControlHealth ||
                       route_ == Route::kControlFail || route_ == Route::kControlStats;
  fails_ = false;
  resets_ = false;
  uint64_t delay_ms = 0;
  if (!control) {
    resets_ = worker_->nextRequestResets();
    if (resets_) {
      route_ = Route::kReset;
      respond();
      return;
    }
    fail_status_ = worker_->state().failPolicy().status;
    fails_ = worker_->nextRequestFails();
    delay_ms = worker_->state().delayMs();
    if (route_ == Route::kDelay) delay_ms += number_;
  }
  // Upgrade and CONNECT requests that are not tunnelled end the connection: llhttp cannot parse
  // another request after them (see processInput).
  if (parser_.upgrade() && (route_ != Route::kWebSocket || fails_)) keep_alive_ = false;
  if (delay_ms > 0) {
    state_ = State::kResponding;
    // The loop's clock was read at the start of this iteration: refresh it so that the delay
    // counts from now.
    uv_update_time(worker_->loop());
    startTimer(TimerPurpose::kDelay, delay_ms);
    return;
  }
  respond();
}

void DemoConnection::finishResponse() {
  if (close_after_ || worker_->stopping()) {
    startLingeringClose();
    return;
  }
  if (state_ != State::kResponding) return;  // answered inside processInput(), which goes on
  if (transport_.aboveHighWatermark()) {
    blocked_on_write_ = true;
    return;
  }
  state_ = State::kReading;
  resumeInput();
}

// --- Closing ---------------------------------------------------------------------------------

// Lingering close (http/lingering_close.h); a peer that has already closed only waits for our
// queued bytes.
void DemoConnection::startLingeringClose() {
  if (state_ == State::kClosed) return;
  if (peer_eof_) {
    closeWhenFlushed();
    return;
  }
  state_ = State::kLingering;
  std::string().swap(pending_);
  const int rc = http::startLingeringClose(transport_, /*peer_eof=*/false);
  if (rc != 0) {
    close();
    return;
  }
  startTimer(TimerPurpose::kLinger, http::kLingerMs);
}

// The peer will send nothing more: close as soon as our queued bytes are written (the kernel
// still delivers what it holds after close(), since no unread input is left).
void DemoConnection::closeWhenFlushed() {
  if (state_ == State::kClosed) return;
  if (transport_.pendingWriteBytes() == 0) {
    close();
    return;
  }
  state_ = State::kLingering;
  transport_.shutdownWrite();
  flush_polls_ = 0;
  startTimer(TimerPurpose::kFlush, kFlushPollMs, kFlushPollMs);
}

void DemoConnection::close() {
  if (state_ == State::kClosed && transport_.isClosing()) return;
  state_ = State::kClosed;
  stopTimer();
  transport_.close();
}

void DemoConnection::startTimer(TimerPurpose purpose, uint64_t timeout_ms, uint64_t repeat_ms) {
  if (!timer_) {
    if (timer_.init(worker_->loop(), uv_timer_init) != 0) {
      // Cannot happen for timers (uv_timer_init only fills the structure); fail safe anyway.
      close();
      return;
    }
    timer_.get()->data = this;
  }
  timer_purpose_ = purpose;
  uv_timer_start(timer_.get(), &DemoConnection::onTimer, timeout_ms, repeat_ms);
}

void DemoConnection::stopTimer() {
  if (!timer_) return;
  // The timer is its own handle with its own lifetime: it is freed once libuv has closed it,
  // whatever happens to the connection meanwhile.
  timer_.get()->data = nullptr;
  timer_.reset();
}

void DemoConnection::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<DemoConnection*>(timer->data);
  if (self == nullptr) return;
  switch (self->timer_purpose_) {
    case TimerPurpose::kDelay:
      if (self->state_ == State::kResponding) self->respond();
      break;
    case TimerPurpose::kLinger:
      // Still sending the last answer to a slow reader: give it more time.
      if (self->transport_.pendingWriteBytes() > 0) {
        self->startTimer(TimerPurpose::kLinger, http::kLingerMs);
      } else {
        self->close();
      }
      break;
    case TimerPurpose::kFlush:
      if (self->transport_.pendingWriteBytes() == 0 || ++self->flush_polls_ >= kFlushMaxPolls) {
        self->close();
      }
      break;
  }
}

}  // namespace sy::proxy
