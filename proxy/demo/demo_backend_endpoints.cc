#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/strings.h"
#include "http/local_reply.h"
#include "http/message_writer.h"
#include "http/strict_decimal.h"
#include "nlohmann/json.hpp"
#include "proxy/demo/demo_backend.h"
#include "proxy/demo/demo_backend_connection.h"
#include "proxy/demo/demo_backend_worker.h"

// The demo origin's endpoints: how a request is routed (/health, /control/..., /delay/N,
// /status/N, /bytes/N, /echo, /close, /reset, /ws) and what each answers. The connection's life
// (input, pipelining, delays, closing) is in demo_backend_connection.cc.

namespace sy::proxy {
namespace {

using core::toAbsl;

constexpr size_t kBytesChunk = 64 * 1024;
constexpr uint64_t kMaxBytes = uint64_t{1} << 50;
constexpr uint64_t kMaxDelayMs = 3600 * 1000;

// kBytesChunk bytes of the pattern plus one period, so that a chunk can start at any phase.
const char* bytesPattern() {
  static const std::string* const kBuffer = [] {
    auto* buffer = new std::string;
    while (buffer->size() < kBytesChunk + kDemoBytesPattern.size())
      buffer->append(kDemoBytesPattern);
    return buffer;
  }();
  return kBuffer->data();
}

uv_buf_t bufferOf(std::string_view text) {
  return uv_buf_init(const_cast<char*>(text.data()), static_cast<unsigned>(text.size()));
}

// The value of `key` in "a=1&b=2" (no percent-decoding: the endpoints take plain numbers).
std::optional<std::string_view> queryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// [[name, value], ...] in received order, as /echo answers and --log-requests logs them.
nlohmann::json headerArray(const http::HeaderBlock& block) {
  nlohmann::json headers = nlohmann::json::array();
  for (size_t i = 0; i < block.size(); ++i) {
    headers.push_back({std::string(block.name(i)), std::string(block.value(i))});
  }
  return headers;
}

}  // namespace

// --- Requests --------------------------------------------------------------------------------

http::ParserCallbacks::HeadAction DemoConnection::onHeadComplete() {
  head_request_ = parser_.method() == HTTP_HEAD;
  routeRequest();
  // Counted as soon as the head is here, so that a test sees what reached the backend even
  // when the body never completes.
  if (!startsWith(parser_.url(), "/control/")) worker_->state().countRequest();
  if (parser_.isHttp11OrLater() && parser_.hasBody()) {
    const std::optional<std::string_view> expect = parser_.headers().find("expect");
    if (expect.has_value() && core::equalsIgnoreCase(*expect, "100-continue")) {
      transport_.write(http::kContinueResponse.data(), http::kContinueResponse.size());
    }
  }
  return kProceed;
}

void DemoConnection::routeRequest() {
  std::string_view target = parser_.url();
  // Absolute form ("http://host/path"), as sent to proxies: keep the path.
  if (core::startsWithIgnoreCase(target, "http://") ||
      core::startsWithIgnoreCase(target, "https://")) {
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  route_ = Route::kDefault;
  number_ = 0;
  chunked_ = false;
  body_bytes_ = 0;
  digest_failed_ = false;
  bad_request_reason_.clear();
  const bool post = parser_.method() == HTTP_POST;

  if (path == "/health") {
    route_ = Route::kHealth;
  } else if (path == "/control/health") {
    const std::optional<std::string_view> status = queryParam(query, "status");
    if (!post) {
      route_ = Route::kMethodNotAllowed;
    } else if (!status.has_value() || !http::parseStrictDecimal(*status, &number_, 599) ||
               number_ < 200) {
      route_ = Route::kBadRequest;
      bad_request_reason_ = "/control/health?status=CODE: CODE must be 200-599";
    } else {
      route_ = Route::kControlHealth;
    }
  } else if (path == "/control/fail") {
    const DemoBackendState::FailPolicy current = worker_->state().failPolicy();
    control_rate_ = current.rate_ppm / 1e6;
    control_status_ = current.status;
    const std::optional<std::string_view> rate = queryParam(query, "rate");
    const std::optional<std::string_view> status = queryParam(query, "status");
    uint64_t status_value = 0;
    if (!post) {
      route_ = Route::kMethodNotAllowed;
    } else if ((!rate.has_value() && !status.has_value()) ||
               (rate.has_value() && (!absl::SimpleAtod(toAbsl(*rate), &control_rate_) ||
                                     !(control_rate_ >= 0 && control_rate_ <= 1))) ||
               (status.has_value() &&
                (!http::parseStrictDecimal(*status, &status_value, 599) || status_value < 200))) {
      route_ = Route::kBadRequest;
      bad_request_reason_ =
          "/control/fail?rate=P&status=CODE: P must be in 0..1, CODE 200-599 (one at least)";
    } else {
      if (status.has_value()) control_status_ = static_cast<int>(status_value);
      route_ = Route::kControlFail;
    }
  } else if (path == "/control/stats") {
    route_ = parser_.method() == HTTP_GET ? Route::kControlStats : Route::kMethodNotAllowed;
  } else if (startsWith(path, "/control/")) {
    route_ = Route::kNotFound;
  } else if (startsWith(path, "/delay/")) {
    if (http::parseStrictDecimal(path.substr(7), &number_, kMaxDelayMs)) {
      route_ = Route::kDelay;
    } else {
      route_ = Route::kBadRequest;
      bad_request_reason_ = absl::StrCat("/delay/MS: MS must be 0-", kMaxDelayMs);
    }
  } else if (startsWith(path, "/status/")) {
    if (http::parseStrictDecimal(path.substr(8), &number_, 599) && number_ >= 200) {
      route_ = Route::kStatus;
    } else {
      route_ = Route::kBadRequest;
      bad_request_reason_ = "/status/CODE: CODE must be 200-599";
    }
  } else if (startsWith(path, "/bytes/")) {
    if (http::parseStrictDecimal(path.substr(7), &number_, kMaxBytes)) {
      route_ = Route::kBytes;
      const std::optional<std::string_view> chunked = queryParam(query, "chunked");
      chunked_ = chunked.has_value() && (*chunked == "1" || *chunked == "true");
    } else {
      route_ = Route::kBadRequest;
      bad_request_reason_ = absl::StrCat("/bytes/N: N must be 0-", kMaxBytes);
    }
  } else if (path == "/echo") {
    route_ = Route::kEcho;
  } else if (path == "/close") {
    route_ = Route::kClose;
  } else if (path == "/reset") {
    route_ = Route::kReset;
  } else if (path == "/ws" && parser_.upgrade()) {
    const std::optional<std::string_view> upgrade = parser_.headers().find("upgrade");
    if (upgrade.has_value() && http::headerHasToken(*upgrade, "websocket")) {
      route_ = Route::kWebSocket;
    }
  }
  // /echo answers the body's SHA-256, --log-requests logs it: both stream it through here.
  hash_body_ = route_ == Route::kEcho || worker_->state().logRequests();
  body_sha256_.clear();
  if (hash_body_) {
    if (sha_ == nullptr) sha_ = EVP_MD_CTX_new();
    digest_failed_ = sha_ == nullptr || EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr) != 1;
  }
}

void DemoConnection::onBody(const char* data, size_t length) {
  if (!hash_body_) return;  // other endpoints read and drop request bodies
  body_bytes_ += length;
  if (!digest_failed_ && EVP_DigestUpdate(sha_, data, length) != 1) digest_failed_ = true;
}

void DemoConnection::finishDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (digest_failed_ || EVP_DigestFinal_ex(sha_, digest, &digest_length) != 1) {
    digest_failed_ = true;
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  body_sha256_.clear();
  body_sha256_.reserve(digest_length * 2);
  for (unsigned int i = 0; i < digest_length; ++i) {
    body_sha256_.push_back(kHex[digest[i] >> 4]);
    body_sha256_.push_back(kHex[digest[i] & 0xf]);
  }
}

void DemoConnection::logRequest() {
  core::logInfo(
      "request_received",
      {{"backend", worker_->state().name()},
       {"method", std::string(parser_.methodName())},
       {"target", std::string(parser_.url())},
       {"version", absl::StrCat(parser_.versionMajor(), ".", parser_.versionMinor())},
       {"headers", headerArray(parser_.headers())},
       {"body_bytes", body_bytes_},
       {"body_sha256", digest_failed_ ? nlohmann::json(nullptr) : nlohmann::json(body_sha256_)}});
}

void DemoConnection::respond() {
  if (fails_) {
    sendSimple(fail_status_, worker_->state().defaultBody());
    finishResponse();
    return;
  }
  const DemoBackendState& state = worker_->state();
  switch (route_) {
    case Route::kDefault:
    case Route::kDelay:
    case Route::kClose:
      sendDefault();
      break;
    case Route::kHealth: {
      const int status = state.healthStatus();
      sendSimple(status, status < 400 ? "ok\n" : "unhealthy\n");
      break;
    }
    case Route::kControlHealth:
      worker_->state().setHealthStatus(static_cast<int>(number_));
      core::logInfo("backend_health_changed", {{"name", state.name()}, {"health_status", number_}});
      sendSimple(200, absl::StrCat("health status ", number_, "\n"));
      break;
    case Route::kControlFail:
      worker_->state().setFailPolicy(control_rate_, control_status_);
      core::logInfo(
          "backend_fail_changed",
          {{"name", state.name()}, {"fail_rate", control_rate_}, {"fail_status", control_status_}});
      sendSimple(200, absl::StrCat("fail rate ", control_rate_, " status ", control_status_, "\n"));
      break;
    case Route::kControlStats:
      sendStats();
      break;
    case Route::kStatus:
      sendSimple(static_cast<int>(number_), state.defaultBody());
      break;
    case Route::kBytes:
      sendBytesHead();
      pumpBytes();
      return;  // pumpBytes() finishes the response
    case Route::kEcho:
      sendEcho();
      break;
    case Route::kReset:
      state_ = State::kClosed;
      stopTimer();
      transport_.abort();
      return;
    case Route::kWebSocket:
      sendUpgrade();
      return;
    case Route::kBadRequest:
      sendSimple(400, absl::StrCat(bad_request_reason_, "\n"));
      break;
    case Route::kNotFound:
      sendSimple(404, "no such control endpoint: see switchyard backend --help\n");
      break;
    case Route::kMethodNotAllowed:
      if (startsWith(parser_.url(), "/control/stats")) {
        sendSimple(405, "/control/stats takes GET\n", "text/plain", "Allow: GET\r\n");
      } else {
        sendSimple(405, "control endpoints take POST\n", "text/plain", "Allow: POST\r\n");
      }
      break;
  }
  finishResponse();
}

// The answer is fully queued on the transport.
// --- Answers ---------------------------------------------------------------------------------

ConnectionHeader DemoConnection::beginResponse() {
  close_after_ = !keep_alive_ || route_ == Route::kClose || worker_->stopping();
  if (close_after_) return ConnectionHeader::kClose;
  return parser_.isHttp11OrLater() ? ConnectionHeader::kNone : ConnectionHeader::kKeepAlive;
}

void DemoConnection::sendDefault() {
  const ConnectionHeader connection = beginResponse();
  const DemoBackendState& state = worker_->state();
  const uv_buf_t buffers[3] = {bufferOf(state.defaultHead(connection)),
                               bufferOf(worker_->context().httpDate()),
                               bufferOf(state.defaultTail(!head_request_))};
  transport_.write(buffers, 3);
}

void DemoConnection::sendSimple(int status, std::string_view body, std::string_view content_type,
                                std::string_view extra_headers) {
  const ConnectionHeader connection = beginResponse();
  const bool with_body = statusAllowsBody(status);
  std::string& out = worker_->scratch();
  out.clear();
  appendResponseHead(&out, status, worker_->state().name(), worker_->context().httpDate(),
                     with_body ? content_type : std::string_view(),
                     with_body ? body.size() : uint64_t{0}, connection, extra_headers);
  if (with_body && !head_request_) out.append(body);
  transport_.write(out.data(), out.size());
}

void DemoConnection::sendEcho() {
  if (digest_failed_) {
    sendSimple(500, "SHA-256 failed\n");
    return;
  }
  const nlohmann::json answer = {
      {"backend", worker_->state().name()},
      {"method", std::string(parser_.methodName())},
      {"path", std::string(parser_.url())},
      {"version", absl::StrCat(parser_.versionMajor(), ".", parser_.versionMinor())},
      {"headers", headerArray(parser_.headers())},
      {"body_bytes", body_bytes_},
      {"body_sha256", body_sha256_},
  };
  // Peers may send bytes that are not UTF-8: replace them rather than throw.
  std::string body = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body.push_back('\n');
  sendSimple(200, body, "application/json");
}

void DemoConnection::sendStats() {
  const DemoBackendState& state = worker_->state();
  const nlohmann::json answer = {{"requests", state.requests()},
                                 {"connections", state.connections()}};
  sendSimple(200, absl::StrCat(answer.dump(), "\n"), "application/json");
}

void DemoConnection::sendBytesHead() {
  // HTTP/1.0 clients do not know chunked encoding.
  chunked_ = chunked_ && parser_.isHttp11OrLater();
  const ConnectionHeader connection = beginResponse();
  std::string& out = worker_->scratch();
  out.clear();
  appendResponseHead(&out, 200, worker_->state().name(), worker_->context().httpDate(),
                     "application/octet-stream",
                     chunked_ ? std::nullopt : std::optional<uint64_t>(number_), connection);
  transport_.write(out.data(), out.size());
  bytes_sent_ = 0;
  if (head_request_) number_ = 0;
  streaming_ = true;
}

// Writes body chunks while the socket takes them; once the transport holds more than its high
// watermark, waits for onTransportWritable(). Memory stays bounded whatever the size.
void DemoConnection::pumpBytes() {
  const char* pattern = bytesPattern();
  while (bytes_sent_ < number_) {
    if (state_ == State::kClosed) return;
    if (transport_.aboveHighWatermark()) {
      state_ = State::kResponding;
      return;
    }
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(kBytesChunk, number_ - bytes_sent_));
    const char* data = pattern + bytes_sent_ % kDemoBytesPattern.size();
    if (chunked_) {
      char chunk_header[24];
      const size_t header_length = http::formatChunkHeader(length, chunk_header);
      const uv_buf_t buffers[3] = {
          uv_buf_init(chunk_header, static_cast<unsigned>(header_length)),
          uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length)),
          bufferOf(http::kChunkTrailer)};
      transport_.write(buffers, 3);
    } else {
      transport_.write(data, length);
    }
    bytes_sent_ += length;
  }
  if (state_ == State::kClosed) return;
  if (chunked_ && !head_request_)
    transport_.write(http::kLastChunk.data(), http::kLastChunk.size());
  streaming_ = false;
  finishResponse();
}

void DemoConnection::sendUpgrade() {
  std::string& out = worker_->scratch();
  out.clear();
  absl::StrAppend(&out,
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                  "Upgrade\r\nX-Backend: ",
                  worker_->state().name(), "\r\nDate: ", toAbsl(worker_->context().httpDate()),
                  "\r\n\r\n");
  transport_.write(out.data(), out.size());
  state_ = State::kTunnel;
  // Bytes held while the 101 was delayed are the first tunnel bytes.
  if (!pending_.empty()) {
    transport_.write(pending_.data(), pending_.size());
    std::string().swap(pending_);
  }
  if (peer_eof_) {
    closeWhenFlushed();
    return;
  }
  if (!transport_.aboveHighWatermark()) {
    const int rc = transport_.startReading();
    if (rc != 0) close();
  }
}

void DemoConnection::sendParseError() {
  keep_alive_ = false;
  head_request_ = false;
  route_ = Route::kBadRequest;
  const int status = parser_.errorStatus() != 0 ? parser_.errorStatus() : 400;
  sendSimple(status, absl::StrCat(status, " ", toAbsl(statusReason(status)), ": ",
                                  toAbsl(parser_.errorReason()), "\n"));
  startLingeringClose();
}

}  // namespace sy::proxy
