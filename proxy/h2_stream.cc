#include "proxy/h2_stream.h"

#include <uv.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "core/ascii_lower.h"
#include "core/strings.h"
#include "core/thread_recycler.h"
#include "http/message_writer.h"
#include "proxy/h2_connection.h"
#include "proxy/worker.h"

namespace sy::proxy {
namespace {

// Fields that belong to one HTTP/1.1 connection and must not appear in HTTP/2 (RFC 9113
// §8.2.2); the exchange writes some of them (Connection, Transfer-Encoding, Keep-Alive).
bool connectionSpecific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "te";
}

// The :status field in `field`, its text in `text` (which must outlive the submit call:
// nghttp2 copies it there).
void setH2StatusField(int status, char (&text)[8], nghttp2_nv* field) {
  const std::to_chars_result status_end = std::to_chars(text, text + sizeof text, status);
  static constexpr std::string_view kStatus = ":status";
  *field = {reinterpret_cast<uint8_t*>(const_cast<char*>(kStatus.data())),
            reinterpret_cast<uint8_t*>(text), kStatus.size(),
            static_cast<size_t>(status_end.ptr - text), NGHTTP2_NV_FLAG_NONE};
}

// A backend's head as nghttp2 takes it (http::forEachDownstreamResponseField, names
// lowercased), slot 0 left for :status; the views point into the response and into this
// object, which must stay where it is until the submit call.
class H2BackendFields {
 public:
  H2BackendFields(const http::Http1Parser& response,
                  const http::DownstreamResponseOptions& options);
  H2BackendFields(const H2BackendFields&) = delete;
  H2BackendFields& operator=(const H2BackendFields&) = delete;

  nghttp2_nv* data() { return nva_.data(); }
  size_t size() const { return nva_.size(); }
  // As HTTP/1.1 would count the head: "HTTP/1.1 200 <reason>\r\n", the fields, the empty line.
  uint64_t http1Bytes() const { return http1_bytes_; }

 private:
  std::string scratch_;
  absl::InlinedVector<nghttp2_nv, 16> nva_;
  // Lowercase copies of the names, all in one buffer sized up front (on the stack for the
  // usual few fields).
  absl::InlinedVector<char, 256> lowercase_;
  uint64_t http1_bytes_ = 0;
};

H2BackendFields::H2BackendFields(const http::Http1Parser& response,
                                 const http::DownstreamResponseOptions& options) {
  nva_.emplace_back();  // :status
  size_t name_bytes = 0;
  http1_bytes_ = 15 + response.reason().size() + 2;
  http::forEachDownstreamResponseField(
      response, options, &scratch_, [&](std::string_view name, std::string_view value) {
        nva_.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                        value.size(), NGHTTP2_NV_FLAG_NONE});
        name_bytes += name.size();
        http1_bytes_ += name.size() + value.size() + 4;
      });
  // HTTP/2 names are lowercase (RFC 9113 §8.2.1): every name is copied lowercased, one
  // pass over the names (looking for an uppercase letter first cost as much as the copy).
  lowercase_.resize(name_bytes);
  char* out = lowercase_.data();
  for (size_t i = 1; i < nva_.size(); ++i) {
    nghttp2_nv& field = nva_[i];
    core::asciiToLowerCopy(
        std::string_view(reinterpret_cast<const char*>(field.name), field.namelen), out);
    field.name = reinterpret_cast<uint8_t*>(out);
    out += field.namelen;
  }
}

ssize_t readResponseCallback(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buffer,
                             size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                             void* /*user_data*/) {
  return static_cast<H2Stream*>(source->ptr)->readResponse(buffer, length, data_flags);
}

using StreamRecycler = core::ThreadRecycler<H2Stream, kRecycledExchanges>;

}  // namespace

void* H2Stream::operator new(size_t size) {
  assert(size == sizeof(H2Stream));  // final: no larger subclass
  (void)size;
  return StreamRecycler::allocate();
}

void H2Stream::operator delete(void* block) { StreamRecycler::release(block); }

H2Stream::H2Stream(H2Connection& connection, int32_t id)
    : connection_(connection),
      id_(id),
      request_(http::Http1Parser::Type::kRequest, &request_events_),
      started_ns_(uv_hrtime()) {
  request_.setLimits(listenerSettings().limits);
  request_.beginFields();
}

H2Stream::~H2Stream() { session_.reset(); }

// ---- ExchangeOwner: the client is the connection's ----

uint32_t H2Stream::listenerId() const { return connection_.client().listenerId(); }

const routing::ListenerSettings& H2Stream::listenerSettings() const {
  return connection_.client().listenerSettings();
}

core::NetAddress H2Stream::peerAddress() const { return connection_.client().peerAddress(); }

const std::string& H2Stream::clientIp() { return connection_.client().clientIp(); }

bool H2Stream::clientSecure() const { return connection_.client().clientSecure(); }

std::optional<tls::TlsDetails> H2Stream::clientTlsDetails() const {
  return connection_.client().clientTlsDetails();
}

// ---- The request ----

void H2Stream::addRequestField(std::string_view name, std::string_view value,
                               uint32_t max_list_bytes) {
  if (header_list_too_large_) return;
  header_list_bytes_ += name.size() + value.size() + 32;
  if (header_list_bytes_ > max_list_bytes) {
    header_list_too_large_ = true;
    // Frees what was kept (the request is not forwarded); the head reads as empty.
    request_.beginFields();
    request_.releaseHead();
    return;
  }
  request_.addField(name, value);
}

void H2Stream::startRequest(bool end_stream) {
  core::WorkerStats& stats = connection_.worker().stats();
  stats.requests.add();
  stats.requests_http2.add();
  if (header_list_too_large_) {
    stats.http2Defence(core::Http2Defence::kHeaderListTooLarge).add();
    // As nginx and Envoy answer (RFC 6585): the client learns which limit it hit.
    refuseRequest(431, "request header list larger than http2_max_header_list_size");
    return;
  }
  request_ended_ = end_stream;
  afterRequestInput(request_.finishFields(!end_stream));
}

void H2Stream::flushBatch() { connection_.worker().loopContext().writeBatch().flush(); }

void H2Stream::afterRequestInput(http::Http1Parser::Result result) {
  if (result == http::Http1Parser::Result::kError) {
    if (session_ == nullptr && !refused_) {
      // A refused head: answered as on HTTP/1.1.
      refuseRequest(request_.errorStatus(), request_.errorReason());
    } else if (session_ != nullptr && !refused_) {
      // The body refused after the head (addBody/finishBody have no such rule today, but a
      // later one must not go unheard): the exchange cannot forward a request it will never
      // see whole. As on HTTP/1.1 the client is answered while it can be; once the response
      // has begun, the stream is malformed (RFC 9113 §8.1.1) and ends with RST_STREAM.
      if (!session_->responseStarted()) {
        session_->respondLocally(request_.errorStatus(), request_.errorReason());  // ends it
        return;
      }
      session_->recordCutShort();
      session_.reset();
      reset(NGHTTP2_PROTOCOL_ERROR);
    }
    return;
  }
  // Answered once the request was read whole, as on HTTP/1.1 (its size is known then).
  if (result == http::Http1Parser::Result::kPaused && session_ != nullptr &&
      session_->hasPendingLocalReply()) {
    session_->sendPendingLocalReply();
  }
}

void H2Stream::refuseRequest(int status, std::string_view detail) {
  refused_ = true;
  session_ = std::make_unique<ProxySession>(connection_.worker(), *this, request_, started_ns_);
  session_->disableKeepAlive();
  session_->respondLocally(status, detail);
}

http::ParserCallbacks::HeadAction H2Stream::RequestEvents::onHeadComplete() {
  H2Stream& self = stream;
  self.session_ = std::make_unique<ProxySession>(self.connection_.worker(), self, self.request_,
                                                 self.started_ns_);
  self.session_->start();  // may end the exchange before it returns
  return kProceed;
}

void H2Stream::RequestEvents::onBody(const char* data, size_t length) {
  if (stream.session_ != nullptr) stream.session_->onRequestBody(data, length);
}

void H2Stream::RequestEvents::onMessageComplete() {
  if (stream.session_ != nullptr) stream.session_->onRequestComplete();
}

void H2Stream::onRequestData(const char* data, size_t length) {
  if (paused_ || held_ || !held_input_.empty()) {
    held_input_.append(data, length);  // bounded by the stream's flow-control window
    return;
  }
  deliverRequestData(data, length);
}

void H2Stream::deliverRequestData(const char* data, size_t length) {
  // The client may send this many bytes more (flow control follows what the exchange took).
  nghttp2_session_consume(connection_.session(), id_, length);
  // Refused, or the exchange ended already: nobody reads the rest.
  if (length == 0 || refused_ || session_ == nullptr) return;
  afterRequestInput(request_.addBody(data, length));
}

void H2Stream::onRequestEnd() {
  if (paused_ || held_ || !held_input_.empty()) {
    end_held_ = true;
    return;
  }
  deliverRequestEnd();
}

void H2Stream::deliverRequestEnd() {
  request_ended_ = true;
  end_held_ = false;
  // With a content-length the request completed with its last byte already (nghttp2 has
  // checked that the DATA frames carry exactly that many); without, it ends here.
  if (refused_ || session_ == nullptr) return;
  afterRequestInput(request_.finishBody());
}

bool H2Stream::hasHeldInput() const {
  return !paused_ && !held_ && (!held_input_.empty() || end_held_);
}

void H2Stream::deliverHeldInput() {
  std::string input;
  input.swap(held_input_);
  if (!input.empty()) {
    deliverRequestData(input.data(), input.size());
    flushBatch();  // the exchange's writes to its backend may point into `input`
  }
  if (end_held_ && held_input_.empty() && !paused_ && !held_) deliverRequestEnd();
}

void H2Stream::resumeClientReading() {
  paused_ = false;
  held_ = false;
  // Delivered from the connection's flush, not from inside the exchange's call.
  if (!held_input_.empty() || end_held_) connection_.scheduleFlush();
}

// ---- The response ----

uint64_t H2Stream::sendResponseHead(const http::Http1Parser& response,
                                    const http::DownstreamResponseOptions& options) {
  if (reset_sent_ || response_complete_ || response_submitted_) return 0;
  H2BackendFields fields(response, options);
  if (!submitResponse(response.statusCode(), fields.data(), fields.size())) return 0;
  response_fields_ = true;
  return fields.http1Bytes();
}

uint64_t H2Stream::sendInterimResponse(const http::Http1Parser& response,
                                       const http::DownstreamResponseOptions& options) {
  if (!interimAllowed(response.statusCode())) return 0;
  H2BackendFields fields(response, options);
  if (!submitInterim(response.statusCode(), fields.data(), fields.size())) return 0;
  return fields.http1Bytes();
}

bool H2Stream::submitResponse(int status, nghttp2_nv* fields, size_t count) {
  char status_text[8];
  setH2StatusField(status, status_text, &fields[0]);
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = readResponseCallback;
  // nghttp2 copies the names and values.
  if (nghttp2_submit_response(connection_.session(), id_, fields, count, &provider) != 0) {
    reset(NGHTTP2_INTERNAL_ERROR);
    return false;
  }
  response_submitted_ = true;
  return true;
}

bool H2Stream::interimAllowed(int status) const {
  // 101 has no meaning in HTTP/2 (RFC 9113 §8.6); nothing may follow the final head.
  return status >= 100 && status < 200 && status != 101 && !reset_sent_ && !response_submitted_ &&
         !response_complete_;
}

bool H2Stream::submitInterim(int status, nghttp2_nv* fields, size_t count) {
  char status_text[8];
  setH2StatusField(status, status_text, &fields[0]);
  // Without END_STREAM (a 1xx never ends the stream); nghttp2 sends its frames in the order
  // submitted, so this HEADERS precedes the final response's. nghttp2_submit_response would
  // half-close the stream.
  if (nghttp2_submit_headers(connection_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, fields, count,
                             nullptr) != 0) {
    reset(NGHTTP2_INTERNAL_ERROR);
    return false;
  }
  return true;
}

void H2Stream::resumeResponseData() {
  if (response_submitted_ && response_deferred_) {
    response_deferred_ = false;
    nghttp2_session_resume_data(connection_.session(), id_);
  }
}

void H2Stream::writeToClient(const char* data, size_t length) {
  if (reset_sent_ || response_complete_) return;
  if (response_fields_) {
    appendResponseBody(data, length);
    resumeResponseData();
    connection_.scheduleFlush();
    return;
  }
  if (response_ == nullptr) {
    response_ =
        std::make_unique<http::Http1Parser>(http::Http1Parser::Type::kResponse, &response_events_);
    // The exchange wrote this head itself: no limits to enforce on it.
    response_->setLimits(
        {.max_url_bytes = 1 << 30, .max_header_bytes = 1 << 30, .max_header_count = 1 << 20});
  }
  while (length > 0 && !response_complete_ && !reset_sent_) {
    size_t consumed = 0;
    const http::Http1Parser::Result result = response_->execute(data, length, &consumed);
    if (result == http::Http1Parser::Result::kError) {
      reset(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (result == http::Http1Parser::Result::kNeedMore) break;
    data += consumed;
    length -= consumed;
    if (!response_complete_) response_->resume();  // an interim (1xx) response ended
  }
  resumeResponseData();
  connection_.scheduleFlush();
}

http::ParserCallbacks::HeadAction H2Stream::ResponseEvents::onHeadComplete() {
  H2Stream& self = stream;
  const http::Http1Parser& response = *self.response_;
  self.submitParsedResponseHead();
  if (response.statusCode() < 200) return kProceed;  // interim: the final head follows
  return self.request_.method() == HTTP_HEAD ? kNoBody : kProceed;
}

void H2Stream::submitParsedResponseHead() {
  const http::Http1Parser& response = *response_;
  const int status = response.statusCode();
  const bool interim = status < 200;
  // A 101 comes before the exchange asks for a tunnel, which HTTP/2 refuses (enterTunnel).
  if (interim && !interimAllowed(status)) return;
  const http::HeaderBlock& fields = response.headers();
  // Fields the Connection field names are connection-specific too.
  const std::string_view connection_field = fields.find("connection").value_or("");
  std::vector<std::string> storage;  // lowercase names (HTTP/2 requires them)
  storage.reserve(fields.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size() + 1);
  nva.emplace_back();  // :status, filled in by submitResponse
  for (size_t i = 0; i < fields.size(); ++i) {
    storage.emplace_back(fields.name(i));
    absl::AsciiStrToLower(&storage.back());
    const std::string& name = storage.back();
    if (connectionSpecific(name) || http::headerHasToken(connection_field, name)) continue;
    const std::string_view value = fields.value(i);
    nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  if (interim) {
    submitInterim(status, nva.data(), nva.size());
  } else {
    submitResponse(status, nva.data(), nva.size());
  }
}

void H2Stream::appendResponseBody(const char* data, size_t length) {
  if (response_sent_ > 0 && response_sent_ == response_body_.size()) {
    response_body_.clear();
    response_sent_ = 0;
  }
  response_body_.append(data, length);
  if (pendingResponseBytes() > kHighWatermark) was_above_watermark_ = true;
}

void H2Stream::ResponseEvents::onBody(const char* data, size_t length) {
  stream.appendResponseBody(data, length);
}

void H2Stream::ResponseEvents::onMessageComplete() {
  // An interim response (the proxy's 100 Continue) ends at its head: the final one follows.
  if (stream.response_->statusCode() >= 200) stream.response_complete_ = true;
}

ssize_t H2Stream::readResponse(uint8_t* buffer, size_t length, uint32_t* data_flags) {
  const size_t take = std::min(length, pendingResponseBytes());
  if (take > 0) {
    connection_.noteResponseProgress();
    std::memcpy(buffer, response_body_.data() + response_sent_, take);
    response_sent_ += take;
    if (response_sent_ == response_body_.size()) {
      response_body_.clear();
      response_sent_ = 0;
    } else if (response_sent_ >= kHighWatermark) {
      response_body_.erase(0, response_sent_);  // keeps the buffer from growing without end
      response_sent_ = 0;
    }
  }
  if (was_above_watermark_ && pendingResponseBytes() <= kLowWatermark) {
    was_above_watermark_ = false;
    notify_writable_ = true;  // the connection tells the exchange after sending
  }
  if (response_complete_ && pendingResponseBytes() == 0) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(take);
  }
  if (take == 0) {
    response_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(take);
}

void H2Stream::notifyWritable() {
  notify_writable_ = false;
  if (session_ != nullptr && !clientAboveHighWatermark()) session_->onClientWritable();
}

bool H2Stream::clientAboveHighWatermark() const {
  return pendingResponseBytes() > kHighWatermark || connection_.socketAboveHighWatermark();
}

void H2Stream::flushClientWrites() { connection_.scheduleFlush(); }

// ---- The exchange's end ----

void H2Stream::enterTunnel(std::string* pending) {
  // No tunnels over HTTP/2 in this slice (nghttp2 refuses Upgrade fields, so a backend's 101
  // was not asked for).
  pending->clear();
  reset(NGHTTP2_PROTOCOL_ERROR);
}

void H2Stream::exchangeFinished() {
  session_.reset();
  if (response_fields_ && !reset_sent_) {
    // A proxied response: the exchange finishes once the backend's response ended.
    response_complete_ = true;
    resumeResponseData();
  }
  if (!response_complete_) reset(NGHTTP2_INTERNAL_ERROR);
  connection_.scheduleFlush();
}

void H2Stream::closeConnection() {
  // On HTTP/2 only this stream ends: the others go on.
  if (session_ != nullptr) session_->recordCutShort();
  session_.reset();
  if (!response_complete_) reset(NGHTTP2_INTERNAL_ERROR);
  connection_.scheduleFlush();
}

void H2Stream::reset(uint32_t error_code) {
  if (reset_sent_) return;
  reset_sent_ = true;
  nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_, error_code);
  connection_.scheduleFlush();
}

// ---- The stream's client_timeout ----

H2Stream::ClientTimeout::~ClientTimeout() { stream_.connection_.worker().timeouts().cancel(this); }

void H2Stream::armClientTimeout() {
  connection_.worker().timeouts().schedule(&client_timeout_, listenerSettings().client_timeout_ms);
}

void H2Stream::stopClientTimeout() { connection_.worker().timeouts().cancel(&client_timeout_); }

void H2Stream::onClientTimeout() {
  // A body the exchange does not take (its backend is slow) is not the client's pause: the
  // client cannot send more than its window, which opens only as the exchange reads.
  if (paused_) {
    armClientTimeout();
    return;
  }
  connection_.worker().stats().http2Defence(core::Http2Defence::kClientTimeout).add();
  timeOut();  // 408 for a request still being read, RST_STREAM otherwise
  connection_.scheduleFlush();
}

void H2Stream::timeOut() {
  if (session_ != nullptr && !session_->responseStarted() && !session_->requestComplete()) {
    session_->respondLocally(408, "request body timeout");  // ends the exchange
    return;
  }
  if (session_ != nullptr) session_->recordCutShort();
  session_.reset();
  reset(NGHTTP2_CANCEL);
}

void H2Stream::cut(uint32_t error_code, std::string_view cut_by) {
  if (session_ == nullptr) return;
  // A stream reset by the client, or a connection gone, is a client that left (499).
  if (error_code != NGHTTP2_NO_ERROR || cut_by.empty()) client_gone_ = true;
  session_->recordCutShort(cut_by);
  session_.reset();
}

}  // namespace sy::proxy
