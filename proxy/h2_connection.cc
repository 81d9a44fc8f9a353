#include "proxy/h2_connection.h"

#include <uv.h>

#include <cstring>
#include <new>
#include <vector>

#include "proxy/downstream_connection.h"
#include "proxy/h2_stream.h"
#include "proxy/worker.h"

namespace sy::proxy {

H2Connection* H2Connection::create(H2SessionMemory& memory, Worker& worker,
                                   DownstreamConnection& host) {
  // In the slot, before the session (start() goes on with the same capture): a hibernation
  // packs the object with it, and its words are mostly the template's (the session's pointer
  // to it is relocated as an offset, like the session's pointers into itself).
  memory.beginCapture(&worker.h2SlotPool());
  void* at = memory.allocateFirstBlock(sizeof(H2Connection));
  if (at == nullptr) {
    memory.endCapture();
    return nullptr;
  }
  return new (at) H2Connection(worker, host);
}

void H2Connection::destroy(H2SessionMemory& memory, Worker& worker, DownstreamConnection& host) {
  if (!memory.hasFirstBlock()) return;
  // Its bytes are in the slot: they must be back before the destructor reads them.
  if (memory.hibernated()) wakeHibernated(memory, worker, host);
  at(memory)->~H2Connection();
  memory.releaseFirstBlock();
}

void H2Connection::wakeHibernated(H2SessionMemory& memory, Worker& worker,
                                  DownstreamConnection& host) {
  if (!memory.hibernated()) return;
  memory.wake(worker.h2SlotPool());
  at(memory)->client_ = &host;
  worker.stats().http2_hibernated.sub();
}

H2Connection::H2Connection(Worker& worker, DownstreamConnection& host)
    : worker_(worker), client_(&host) {}

DownstreamConnection& H2Connection::host() const {
  return static_cast<DownstreamConnection&>(*client_);
}

tls::StreamTransport& H2Connection::transport() const { return host().transport_; }

H2SessionMemory& H2Connection::memory() const { return host().h2Memory(); }

bool H2Connection::socketAboveHighWatermark() const { return transport().aboveHighWatermark(); }

H2Connection::~H2Connection() {
  closed_ = true;  // nghttp2_session_del must not reach the streams
  last_stream_ = nullptr;
  streams_.clear();
  worker_.timeouts().cancel(this);
  // Awake (destroy() woke it): nghttp2_session_del reads the session to free what it holds.
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (kept_ != nullptr) {
    kept_->~Kept();
    memory().releaseBlock(kept_);
  }
}

bool H2Connection::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent);
  nghttp2_option* options = nullptr;
  if (nghttp2_option_new(&options) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    return false;
  }
  // The session's long-lived buffers go into a slot of pages it can give back while idle, and
  // the connection's own state that waits with it.
  H2SessionMemory& memory = this->memory();
  nghttp2_mem allocator = memory.beginCapture(&worker_.h2SlotPool());
  void* kept = memory.allocateBlock(sizeof(Kept));
  if (kept == nullptr) {
    memory.endCapture();
    nghttp2_option_del(options);
    nghttp2_session_callbacks_del(callbacks);
    return false;
  }
  kept_ = new (kept) Kept{client_->listenerSettings().http2_limits, {}};
  applyHttp2Options(kept_->limits, options);
  const int rc = nghttp2_session_server_new3(&session_, callbacks, this, options, &allocator);
  memory.endCapture();
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);
  if (rc != 0) return false;
  const std::vector<nghttp2_settings_entry> settings = http2ServerSettings(kept_->limits);
  return nghttp2_submit_settings(session(), NGHTTP2_FLAG_NONE, settings.data(), settings.size()) ==
         0;
}

H2Stream* H2Connection::findStream(int32_t stream_id) {
  if (last_stream_ != nullptr && last_stream_->id() == stream_id) return last_stream_;
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) return nullptr;
  last_stream_ = found->second.get();
  return last_stream_;
}

// ---- Input ----

bool H2Connection::onInput(const char* data, size_t length) {
  if (closed_) return true;
  const ssize_t rc =
      nghttp2_session_mem_recv(session(), reinterpret_cast<const uint8_t*>(data), length);
  if (rc < 0) {
    // A connection error: nghttp2 queued a GOAWAY where the protocol asks for one, except for
    // the errors it only gives up on (floods, a client that is not speaking HTTP/2).
    countFatalError(static_cast<int>(rc));
    if (const uint32_t code = http2GoawayCodeForFatalError(static_cast<int>(rc)); code != 0) {
      nghttp2_session_terminate_session(session(), code);
    }
    send();
    return false;
  }
  return flush();
}

int H2Connection::onBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                                 void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  if (self->closed_ || frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  const int32_t id = frame->hd.stream_id;
  std::unique_ptr<H2Stream>& stream = self->streams_[id];
  stream = std::make_unique<H2Stream>(*self, id);
  self->last_stream_ = stream.get();  // its fields come next
  return 0;
}

int H2Connection::onHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                           const uint8_t* name, size_t name_length, const uint8_t* value,
                           size_t value_length, uint8_t /*flags*/, void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  if (self->closed_ || frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // request trailers are dropped, as HTTP/1.1's are
  }
  H2Stream* stream = self->findStream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  stream->addRequestField(std::string_view(reinterpret_cast<const char*>(name), name_length),
                          std::string_view(reinterpret_cast<const char*>(value), value_length),
                          self->kept_->limits.max_header_list_size);
  return 0;
}

int H2Connection::onFrameReceived(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                                  void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  if (self->closed_) return 0;
  if (frame->hd.type == NGHTTP2_RST_STREAM) self->countClientReset();
  H2Stream* stream = self->findStream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    // A body follows: the client must keep it coming (client_timeout, as on HTTP/1.1).
    if (!end_stream) stream->armClientTimeout();
    stream->startRequest(end_stream);
  } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end_stream) {
    // As on HTTP/1.1: from now on the backend is the one we wait for.
    stream->stopClientTimeout();
    stream->onRequestEnd();
  } else if (frame->hd.type == NGHTTP2_DATA) {
    if (stream->clientTimeoutArmed()) stream->armClientTimeout();  // the pause starts over
  }
  return 0;
}

int H2Connection::onFrameSent(nghttp2_session* session, const nghttp2_frame* frame,
                              void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  if (frame->hd.type == NGHTTP2_RST_STREAM &&
      frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
    // nghttp2 refused a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS.
    self->worker_.stats().http2Defence(core::Http2Defence::kStreamLimit).add();
    return 0;
  }
  const bool response_end = (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
                            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (response_end && !self->closed_ &&
      nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
    // The response is complete before the request (a local answer such as 408 or 413, or a
    // backend that answered early): the client is asked to stop sending without an error
    // (RFC 9113 §8.1), and the stream closes instead of waiting for a body nobody reads.
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int H2Connection::onDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                              const uint8_t* data, size_t length, void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  H2Stream* stream = self->closed_ ? nullptr : self->findStream(stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume_connection(session, length);  // nobody reads it: give it back
    return 0;
  }
  stream->onRequestData(reinterpret_cast<const char*>(data), length);
  return 0;
}

int H2Connection::onStreamClose(nghttp2_session* /*session*/, int32_t stream_id,
                                uint32_t error_code, void* user_data) {
  auto* self = static_cast<H2Connection*>(user_data);
  if (self->closed_) return 0;
  auto found = self->streams_.find(stream_id);
  if (found == self->streams_.end()) return 0;
  found->second->cut(error_code);
  if (self->last_stream_ == found->second.get()) self->last_stream_ = nullptr;
  self->streams_.erase(found);  // its client_timeout with it
  return 0;
}

void H2Connection::countFatalError(int nghttp2_error) {
  core::WorkerStats& stats = worker_.stats();
  switch (nghttp2_error) {
    case NGHTTP2_ERR_FLOODED:
      stats.http2Defence(core::Http2Defence::kControlFlood).add();
      return;
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      stats.http2Defence(core::Http2Defence::kContinuationFlood).add();
      return;
    case NGHTTP2_ERR_TOO_MANY_SETTINGS:
      stats.http2Defence(core::Http2Defence::kSettingsTooMany).add();
      return;
    default:
      return;
  }
}

void H2Connection::countClientReset() {
  if (draining_ || kept_->resets.admit(uv_now(worker_.loop()), kept_->limits.max_resets,
                                       kept_->limits.reset_interval_ms)) {
    return;
  }
  // Rapid reset (CVE-2023-44487): each reset stream cost a backend request; no more of them.
  worker_.stats().http2Defence(core::Http2Defence::kRapidReset).add();
  draining_ = true;
  nghttp2_session_terminate_session(session(), NGHTTP2_ENHANCE_YOUR_CALM);
}

// ---- Output ----

void H2Connection::scheduleFlush() {
  if (!closed_) worker_.defer(&host());
}

bool H2Connection::flush() {
  if (closed_) return true;
  // Streams whose exchange resumed reading get their held body now. (Streams are only erased
  // by nghttp2's callbacks, which do not run from here.)
  for (auto& [id, stream] : streams_) {
    if (stream->hasHeldInput()) stream->deliverHeldInput();
  }
  return send();
}

bool H2Connection::send() {
  // nghttp2's frame is valid until its next call: frames are gathered on the stack and written
  // in batches (one sendmsg for a small response's HEADERS and DATA). A heap string grown from
  // nothing on every call cost ~450 user-space instructions per h2c stream (callgrind).
  // As many bytes as the old heap batch held before it was written out.
  static constexpr size_t kSendBatchBytes = 64 * 1024;
  char batch[kSendBatchBytes];
  size_t used = 0;
  tls::StreamTransport& transport = this->transport();
  const auto write_out = [this, &transport](const char* bytes, size_t length) {
    worker_.stats().bytes_out.add(length);
    transport.write(bytes, length);  // copied by the transport
  };
  while (!transport.aboveHighWatermark()) {
    const uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session(), &data);
    if (length < 0) return false;
    if (length == 0) break;
    const auto size = static_cast<size_t>(length);
    if (used + size > sizeof batch && used > 0) {
      write_out(batch, used);
      used = 0;
    }
    if (size > sizeof batch) {  // a frame larger than the batch (a peer's large frame size)
      write_out(reinterpret_cast<const char*>(data), size);
      continue;
    }
    std::memcpy(batch + used, data, size);
    used += size;
  }
  if (used > 0) write_out(batch, used);
  if (closed_) return true;
  // Exchanges whose response backlog fell below the low watermark may read their backend again.
  std::vector<H2Stream*> writable;
  for (auto& [id, stream] : streams_) {
    if (stream->wantsWritable()) writable.push_back(stream.get());
  }
  for (H2Stream* stream : writable) stream->notifyWritable();
  return true;
}

bool H2Connection::onWritable() {
  if (closed_) return true;
  progressed_ = true;  // the client reads again
  if (!send()) return false;
  std::vector<H2Stream*> streams;
  for (auto& [id, stream] : streams_) streams.push_back(stream.get());
  for (H2Stream* stream : streams) stream->notifyWritable();
  return true;
}

// ---- Timers ----

bool H2Connection::responseBlocked() {
  if (transport().aboveHighWatermark()) return true;
  const bool connection_window_closed = nghttp2_session_get_remote_window_size(session()) <= 0;
  for (const auto& [id, stream] : streams_) {
    if (!stream->responseDataWaiting()) continue;
    if (connection_window_closed ||
        nghttp2_session_get_stream_remote_window_size(session(), id) <= 0) {
      return true;
    }
  }
  return false;
}

H2Connection::Timer H2Connection::timerAfterStep() {
  armHibernation();
  Timer wanted = Timer::kNone;
  if (streams_.empty()) {
    wanted = Timer::kIdle;
  } else if (responseBlocked()) {
    wanted = Timer::kStall;
  }
  // A stall that made progress starts over; anything else that did not change keeps its timer.
  const bool restart = wanted == Timer::kStall && progressed_;
  progressed_ = false;
  if (wanted == timer_ && !restart) return Timer::kUnchanged;
  timer_ = wanted;
  return wanted;
}

// ---- Hibernation ----

void H2Connection::armHibernation() {
  if (!streams_.empty() || closed_ || draining_ || !memory().hasSlot()) return;
  // Idle since now (any step, a PING too, starts the delay over). The timer is lazy: it is set
  // once and, when it fires early, set again for the rest, so that a connection whose streams
  // come one after another pays a clock read per step, not a timer move.
  idle_since_ms_ = uv_now(worker_.loop());
  if (!scheduled()) {
    worker_.timeouts().schedule(this, kHibernateDelayMs);
  }
}

void H2Connection::onTimeout() {
  // Busy now: the step that leaves it idle again sets the timer.
  if (closed_ || draining_ || !streams_.empty() || memory().hibernated()) return;
  const uint64_t idle_ms = uv_now(worker_.loop()) - idle_since_ms_;
  if (idle_ms < kHibernateDelayMs) {
    worker_.timeouts().schedule(this, kHibernateDelayMs - idle_ms);
    return;
  }
  // nghttp2 must be between frames: nothing queued or half sent (its frame buffer then holds
  // nothing live, which hibernate() relies on). Otherwise try again later.
  if (nghttp2_session_want_write(session_) != 0) {
    worker_.timeouts().schedule(this, kHibernateDelayMs);
    return;
  }
  // The stream table keeps its array after its last erase (a slot and control bytes, ~48 bytes
  // of heap): an idle connection gives it back too, and the next stream makes a new one.
  decltype(streams_)().swap(streams_);
  // This object is in the slot: once packed, its members read as zeros until a wake.
  // What is per connection but re-derived on wake costs the image nothing while cleared: the
  // host pointer (given again by wakeHibernated), the idle clock, the stale deadline.
  H2SessionMemory& memory = this->memory();
  ExchangeOwner* const client = client_;
  const uint64_t idle_since_ms = idle_since_ms_;
  client_ = nullptr;
  idle_since_ms_ = 0;
  forgetDeadline();
  core::WorkerStats& stats = worker_.stats();
  if (memory.hibernate(worker_.h2SlotPool())) {
    stats.http2_hibernated.add();
    return;
  }
  client_ = client;
  idle_since_ms_ = idle_since_ms;
}

// ---- The connection's end ----

void H2Connection::drain() {
  if (closed_ || draining_) return;
  draining_ = true;
  // Streams up to the last one begun are served; the client retries later ones elsewhere.
  nghttp2_submit_goaway(session(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  scheduleFlush();
}

bool H2Connection::finished() {
  if (closed_) return true;
  if (nghttp2_session_want_read(session()) == 0 && nghttp2_session_want_write(session()) == 0) {
    return true;
  }
  return draining_ && streams_.empty() && nghttp2_session_want_write(session()) == 0 &&
         transport().pendingWriteBytes() == 0;
}

void H2Connection::abort(std::string_view cut_by) {
  if (closed_) return;
  closed_ = true;
  for (auto& [id, stream] : streams_) {
    stream->cut(cut_by.empty() ? NGHTTP2_CANCEL : NGHTTP2_NO_ERROR, cut_by);
  }
  last_stream_ = nullptr;
  streams_.clear();
}

}  // namespace sy::proxy
