#include "proxy/downstream_connection.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "proxy/core/log.h"
#include "proxy/core/stable_hash.h"
#include "proxy/core/strings.h"
#include "proxy/http/local_reply.h"
#include "proxy/http/message_writer.h"
#include "proxy/http/path_normalizer.h"
#include "proxy/http/request_target.h"
#include "proxy/mirror_exchange.h"
#include "proxy/worker.h"
#include "routing/traffic_split.h"
#include "upstream/connection_pool.h"

namespace sy::proxy {
namespace {

// A retry replays the request body; bodies larger than this are not kept, so such requests
// are not retried once their body started flowing.
constexpr size_t kMaxReplayBytes = 64 * 1024;
// Pipelined bytes waiting for the current response; beyond this the client is not read.
constexpr size_t kMaxPendingInput = 64 * 1024;
// After the last response on a connection: how long to wait for the client to close.
constexpr uint64_t kLingerMs = 5000;

const char* failureDetail(upstream::UpstreamFailure failure) {
  switch (failure) {
    case upstream::UpstreamFailure::kConnectFailed:
      return "cannot connect to the backend";
    case upstream::UpstreamFailure::kConnectTimeout:
      return "timed out connecting to the backend";
    case upstream::UpstreamFailure::kResponseTimeout:
      return "the backend did not answer in time";
    case upstream::UpstreamFailure::kIdleTimeout:
      return "the backend stalled";
    case upstream::UpstreamFailure::kClosedEarly:
      return "the backend closed the connection";
    case upstream::UpstreamFailure::kProtocolError:
      return "invalid response from the backend";
  }
  return "upstream error";
}

void countStatus(core::WorkerStats& stats, int status) {
  switch (status / 100) {
    case 1:
      stats.responses_1xx.add();
      break;
    case 2:
      stats.responses_2xx.add();
      break;
    case 3:
      stats.responses_3xx.add();
      break;
    case 4:
      stats.responses_4xx.add();
      break;
    default:
      stats.responses_5xx.add();
      break;
  }
}

}  // namespace

DownstreamConnection::DownstreamConnection(Worker& worker, uint32_t listener_index)
    : worker_(worker),
      listener_index_(listener_index),
      transport_(worker.loop()),
      parser_(http::Http1Parser::Type::kRequest, this) {
  transport_.setCallbacks(this);
  worker_.connectionOpened(this);
}

DownstreamConnection::~DownstreamConnection() {
  worker_.timeouts().cancel(this);
  if (deferred) worker_.cancelDeferred(this);
  worker_.connectionClosed(this);
}

const routing::ListenerSettings& DownstreamConnection::listenerSettings() const {
  return worker_.currentSnapshot().listeners[listener_index_];
}

int DownstreamConnection::accept(int fd) {
  int rc = transport_.adopt(fd, listenerSettings().tls);
  if (rc == 0) rc = transport_.startReading();
  if (rc != 0) {
    close();
    return rc;
  }
  worker_.stats().connections_accepted.add();
  // The first request gets the header timeout from the moment the connection exists.
  worker_.timeouts().schedule(this, listenerSettings().header_timeout_ms);
  return 0;
}

// ---- Input from the client ----

void DownstreamConnection::onTransportData(const char* data, size_t length) {
  worker_.stats().bytes_in.add(length);
  switch (state_) {
    case State::kTunnel:
      if (upstream_ != nullptr) {
        upstream_->write(data, length);
        if (upstream_->aboveHighWatermark()) {
          client_paused_ = true;
          transport_.stopReading();
        }
      }
      return;
    case State::kLingering:
    case State::kClosed:
      return;  // the exchange is over; whatever the client still sends is dropped
    case State::kIdle:
    case State::kActive:
      break;
  }
  if (deferred || (state_ == State::kActive && request_complete_)) {
    // Pipelined requests (or tunnel bytes after an Upgrade) wait for the current response.
    pending_input_.append(data, length);
    if (pending_input_.size() > kMaxPendingInput) {
      client_paused_ = true;
      transport_.stopReading();
    }
    return;
  }
  parseInput(data, length);
}

void DownstreamConnection::parseInput(const char* data, size_t length) {
  while (length > 0) {
    if (state_ == State::kIdle) {
      state_ = State::kActive;
      request_started_ns_ = uv_hrtime();  // the first byte: logs time refused requests too
      parser_.setLimits(listenerSettings().limits);
      worker_.timeouts().schedule(this, listenerSettings().header_timeout_ms);
    }
    size_t consumed = 0;
    parsing_ = true;
    const http::Http1Parser::Result result = parser_.execute(data, length, &consumed);
    parsing_ = false;
    if (state_ == State::kLingering || state_ == State::kClosed) return;
    if (result == http::Http1Parser::Result::kNeedMore) return;
    if (result == http::Http1Parser::Result::kError) {
      keep_alive_ = false;
      abortUpstream();
      releaseBackend();
      respondLocally(parser_.errorStatus(), parser_.errorReason());
      return;
    }
    // The request is complete.
    data += consumed;
    length -= consumed;
    if (local_status_ != 0 && state_ == State::kActive) {
      // Answered here rather than from inside the parser, so that the request's size is known.
      respondLocally(local_status_, local_detail_);
      if (state_ == State::kLingering || state_ == State::kClosed) return;
    }
    if (state_ == State::kIdle) {
      parser_.resume();  // answered already: go on with the next pipelined request
      continue;
    }
    if (length > 0) {
      pending_input_.append(data, length);
      if (pending_input_.size() > kMaxPendingInput) {
        client_paused_ = true;
        transport_.stopReading();
      }
    }
    return;
  }
}

void DownstreamConnection::runDeferred() {
  if (state_ != State::kIdle || pending_input_.empty()) return;
  std::string input;
  input.swap(pending_input_);
  parseInput(input.data(), input.size());
  // The batch may point into `input`, which dies here.
  worker_.loopContext().writeBatch().flush();
}

http::ParserCallbacks::HeadAction DownstreamConnection::onHeadComplete() {
  worker_.stats().requests.add();
  pinned_ = worker_.pinCurrent();
  const routing::ConfigSnapshot& snapshot = *pinned_->snapshot;
  client_http11_ = parser_.isHttp11OrLater();
  client_closes_ = !parser_.keepAlive();
  keep_alive_ = !client_closes_ && !worker_.draining();
  head_request_ = parser_.method() == HTTP_HEAD;
  // Only WebSocket upgrades become tunnels; others (h2c) are plain requests to the backend.
  upgrade_request_ =
      parser_.upgrade() && parser_.method() != HTTP_CONNECT &&
      core::equalsIgnoreCase(parser_.headers().find("upgrade").value_or(std::string_view()),
                             "websocket");
  request_chunked_ = parser_.chunked();
  first_request_ = false;
  if (parser_.hasBody()) {
    worker_.timeouts().schedule(this, listenerSettings().client_timeout_ms);
  } else {
    worker_.timeouts().cancel(this);
  }

  if (parser_.method() == HTTP_CONNECT) {
    // A reverse proxy does not open tunnels to arbitrary hosts.
    keep_alive_ = false;
    local_status_ = 405;
    local_detail_ = "CONNECT is not supported";
    return kProceed;
  }
  // An absolute-form target names the host itself, and then Host is ignored (RFC 9112 §3.2.2):
  // routing and the backend must both see that host, or a route's host restriction could be
  // bypassed by a Host header that disagrees with the target.
  absolute_target_ = http::splitAbsoluteForm(parser_.url());
  if (!normalizeTarget()) return kProceed;
  const std::string_view host = absolute_target_
                                    ? absolute_target_->authority
                                    : parser_.headers().find("host").value_or(std::string_view());
  const std::string_view target = forward_target_.empty() ? parser_.url() : forward_target_;
  route_ = snapshot.routes.match(host, target);
  if (refuseOverRateLimit()) return kProceed;
  if (route_ == nullptr) {
    local_status_ = 404;
    local_detail_ = "no route for this host and path";
    // With a body still to come, answer now and close rather than read it all.
    if (parser_.hasBody()) respondLocally(local_status_, local_detail_);
    return kProceed;
  }
  routing::SplitInput split;
  split.headers = &parser_.headers();
  split.target = target;
  if (route_->sticky &&
      route_->sticky->source == routing::config::HashKeyConfig::Source::kClientIp) {
    split.client_ip = clientIp();
  }
  if (route_->canary_pool_index >= 0 || route_->mirror_pool_index >= 0) {
    split.random = worker_.nextRandom();
  }
  const routing::PoolChoice choice = routing::choosePool(*route_, split);
  pool_ = &worker_.poolAt(choice.pool_index)->snapshot();
  pool_index_ = choice.pool_index;
  pool_id_ = pool_->id;

  // Expect: 100-continue is answered here: the body is read as it comes anyway, and a backend
  // that ignores Expect would otherwise leave the client waiting.
  if (client_http11_ && parser_.hasBody()) {
    const auto expect = parser_.headers().find("expect");
    if (expect && core::equalsIgnoreCase(*expect, "100-continue")) {
      writeClient(http::kContinueResponse.data(), http::kContinueResponse.size());
    }
  }
  if (route_->mirror_pool_index >= 0) {
    split.random = worker_.nextRandom();  // independent of the canary draw
    maybeMirror(split);
  }
  startUpstream();
  return kProceed;
}

bool DownstreamConnection::normalizeTarget() {
  const std::string_view received =
      absolute_target_ ? absolute_target_->origin_form : parser_.url();
  forward_target_ = absolute_target_ ? received : std::string_view();
  // A route chosen by path prefix must see the path the backend will resolve: "/public/../admin"
  // and "/public/%2e%2e/admin" are "/admin" to any backend that follows RFC 3986.
  http::NormalizedPath normalized = http::normalizeRequestPath(received, listenerSettings().path);
  using Outcome = http::NormalizedPath::Outcome;
  if (normalized.outcome == Outcome::kUnchanged) return true;
  if (normalized.outcome == Outcome::kInvalid ||
      (normalized.outcome == Outcome::kResolved && listenerSettings().reject_unnormalized_paths)) {
    keep_alive_ = false;
    local_status_ = 400;
    local_detail_ = normalized.outcome == Outcome::kInvalid ? normalized.error
                                                            : "the path is not in normal form";
    // With a body still to come, answer now and close rather than read it all.
    if (parser_.hasBody()) respondLocally(local_status_, local_detail_);
    return false;
  }
  normalized_target_ = std::move(normalized.target);
  forward_target_ = normalized_target_;
  return true;
}

void DownstreamConnection::maybeMirror(const routing::SplitInput& split) {
  const routing::config::MirrorConfig& config = *route_->mirror;
  if (upgrade_request_ || !routing::sampleMirror(*route_, split)) return;
  if (!config.methods.empty()) {
    bool listed = false;
    for (const std::string& method : config.methods)
      listed = listed || method == parser_.methodName();
    if (!listed) return;
  }
  const std::shared_ptr<routing::MirrorStats>& mirror_stats =
      route_->mirror_stats_by_pool[static_cast<size_t>(route_->mirror_pool_index)];
  routing::MirrorWorkerStats& stats = mirror_stats->slot(worker_.index());
  if ((parser_.hasContentLength() && parser_.contentLength() > config.max_body_bytes) ||
      worker_.mirrorsInFlight() >= config.max_in_flight) {
    stats.dropped.add();
    return;
  }
  WorkerPool* pool = worker_.poolAt(static_cast<uint32_t>(route_->mirror_pool_index));
  http::UpstreamRequestOptions options;
  options.client_ip = clientIp();
  if (transport_.secure()) options.proto = "https";
  options.host_fallback = pool->snapshot().name;
  options.target = forward_target_;
  if (absolute_target_) options.host = absolute_target_->authority;
  options.drop_expect = true;
  options.host_suffix = config.host_suffix;
  options.drop_header = config.header;
  std::string marker;
  if (!config.header.empty()) {
    marker = config.header + ": 1\r\n";
    options.extra_headers = marker;
  }
  std::string head;
  http::buildUpstreamRequestHead(parser_, options, &head);
  MirrorExchange::Settings settings;
  settings.timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(config.timeout));
  settings.max_buffer_bytes = config.max_buffer_bytes;
  settings.max_body_bytes = config.max_body_bytes;
  mirror_ =
      MirrorExchange::start(worker_, *pool, std::move(head), head_request_, settings, mirror_stats);
  mirrored_ = mirror_ != nullptr;
}

void DownstreamConnection::mirrorBody(const char* data, size_t length, uint64_t payload_bytes) {
  if (mirror_ != nullptr) mirror_->body(data, length, payload_bytes);
}

void DownstreamConnection::onBody(const char* data, size_t length) {
  if (state_ != State::kActive || local_status_ != 0 || upstream_ == nullptr) return;
  worker_.timeouts().schedule(this, listenerSettings().client_timeout_ms);
  forwardRequestBody(data, length);
}

void DownstreamConnection::forwardRequestBody(const char* data, size_t length) {
  char chunk_header[24];
  size_t header_length = 0;
  if (request_chunked_) {
    header_length = http::formatChunkHeader(length, chunk_header);
    writeUpstreamCopy(chunk_header, header_length);
    writeUpstream(data, length);
    writeUpstream(http::kChunkTrailer.data(), http::kChunkTrailer.size());
    if (mirror_ != nullptr) {
      mirrorBody(chunk_header, header_length, 0);
      mirrorBody(data, length, length);
      mirrorBody(http::kChunkTrailer.data(), http::kChunkTrailer.size(), 0);
    }
  } else {
    writeUpstream(data, length);
    mirrorBody(data, length, length);
  }
  if (replayable_) {
    const size_t framed = header_length + length + (request_chunked_ ? 2 : 0);
    if (replay_.size() + framed > kMaxReplayBytes) {
      replayable_ = false;
      std::string().swap(replay_);
    } else {
      replay_.append(chunk_header, header_length);
      replay_.append(data, length);
      if (request_chunked_) replay_.append(http::kChunkTrailer);
    }
  }
  if (upstream_ != nullptr && upstream_->aboveHighWatermark()) {
    client_paused_ = true;
    transport_.stopReading();
  }
}

void DownstreamConnection::onMessageComplete() {
  if (state_ != State::kActive) return;
  request_complete_ = true;
  worker_.timeouts().cancel(this);  // from now on the backend is the one we wait for
  if (mirror_ != nullptr) {
    if (request_chunked_) mirrorBody(http::kLastChunk.data(), http::kLastChunk.size(), 0);
    mirror_->requestComplete();
    mirror_->detach();
    mirror_ = nullptr;
  }
  if (local_status_ != 0) return;  // answered by parseInput once the parser returns
  if (upstream_ == nullptr) return;
  if (request_chunked_) {
    writeUpstream(http::kLastChunk.data(), http::kLastChunk.size());
    if (replayable_) replay_.append(http::kLastChunk);
  }
  upstream_->requestComplete();
}

// ---- Choosing a backend ----

bool DownstreamConnection::idempotent() const {
  switch (parser_.method()) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

bool DownstreamConnection::refuseOverRateLimit() {
  const RateVerdict verdict = worker_.clientLimits().checkRequest(
      listener_index_, listenerSettings(), route_, transport_.peerAddress().sockaddr_ptr(),
      parser_.headers(), uv_now(worker_.loop()) * 1000000);
  if (verdict.allowed) return false;
  local_status_ = 429;  // RFC 6585 §4
  local_detail_ = "request rate limit exceeded";
  local_headers_ = absl::StrCat("Retry-After: ", verdict.retry_after_seconds, "\r\n");
  limited_by_ = routing::limitReasonName(routing::LimitReason::kRateLimit);
  // With a body still to come, answer now and close rather than read it all.
  if (parser_.hasBody()) respondLocally(local_status_, local_detail_);
  return true;
}

const std::string& DownstreamConnection::clientIp() {
  if (client_ip_.empty()) client_ip_ = transport_.peerAddress().hostString();
  return client_ip_;
}

std::optional<uint64_t> DownstreamConnection::hashKey(const upstream::PoolSnapshot& pool) {
  if (!pool.settings.hash_key) return std::nullopt;
  const routing::config::HashKeyConfig& key = *pool.settings.hash_key;
  switch (key.source) {
    case routing::config::HashKeyConfig::Source::kClientIp:
      return core::stableHash(clientIp());
    case routing::config::HashKeyConfig::Source::kHeader:
      if (auto value = parser_.headers().find(key.name)) return core::stableHash(*value);
      return std::nullopt;
    case routing::config::HashKeyConfig::Source::kCookie:
      if (auto value = http::findCookie(parser_.headers(), key.name)) {
        return core::stableHash(*value);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

void DownstreamConnection::startUpstream() {
  WorkerPool* pool = worker_.poolById(pool_id_);
  if (pool == nullptr) {
    respondLocally(503, "the pool is no longer configured");
    return;
  }
  while (true) {
    upstream::PickContext pick;
    pick.hash = hashKey(pool->snapshot());
    pick.exclude = absl::MakeConstSpan(tried_.data(), tried_.size());
    const int index = pool->balancer().pick(pick);
    if (index < 0) {
      respondLocally(503, "no available backend");
      return;
    }
    // The balancer offers a backend already tried only when every one was. After a refused
    // connection that is pointless; after a broken keep-alive connection a fresh one may work.
    if (last_failure_connect_ &&
        std::find(tried_.begin(), tried_.end(), static_cast<uint32_t>(index)) != tried_.end()) {
      respondLocally(last_failure_timeout_ ? 504 : 502,
                     last_failure_timeout_ ? "timed out connecting to every backend"
                                           : "cannot connect to any backend");
      return;
    }
    backend_ = pool->backend(static_cast<uint32_t>(index));
    last_backend_ = pool->snapshot().backends[static_cast<size_t>(index)].info.get();
    backend_->requestStarted();
    ++tries_;
    tried_.push_back(static_cast<uint32_t>(index));
    if (tries_ == 1) {
      http::UpstreamRequestOptions options;
      options.client_ip = clientIp();
      if (transport_.secure()) options.proto = "https";
      options.host_fallback = backend_->info().address_text;
      options.target = forward_target_;
      if (absolute_target_) options.host = absolute_target_->authority;
      options.tunnel = upgrade_request_;
      options.drop_expect = true;
      // Only the proxy marks copies: a client's marker would pass a real request off as one.
      if (route_->mirror != nullptr) options.drop_header = route_->mirror->header;
      http::buildUpstreamRequestHead(parser_, options, &head_);
    }
    int error = 0;
    upstream_ = backend_->acquire(&error);
    if (upstream_ != nullptr) break;
    core::logDebug("upstream_connect_failed",
                   {{"backend", backend_->info().address_text}, {"error", uv_strerror(error)}});
    backend_->stats().connect_failures.add();
    noteBackendFailure();
    releaseBackend();
    worker_.stats().upstream_failures.add();
    last_failure_connect_ = true;
    last_failure_timeout_ = false;
    if (tries_ > route_->retries) {
      respondLocally(502, "cannot connect to the backend");
      return;
    }
    worker_.stats().retries.add();
  }
  upstream_->attach(this, head_request_, upgrade_request_);
  writeUpstream(head_.data(), head_.size());
  if (!replay_.empty()) writeUpstreamCopy(replay_.data(), replay_.size());
  if (request_complete_) upstream_->requestComplete();
  if (!upstream_->connected() && !request_complete_ && parser_.hasBody()) {
    // Hold the body until the backend accepts the connection, so that a failed connect can
    // be retried elsewhere with everything we read still at hand.
    waiting_for_connect_ = true;
    transport_.stopReading();
  }
}

void DownstreamConnection::onUpstreamConnected() {
  if (waiting_for_connect_) {
    waiting_for_connect_ = false;
    resumeClientReading();
  }
}

void DownstreamConnection::onUpstreamWritable() {
  if (client_paused_ && !waiting_for_connect_) resumeClientReading();
}

void DownstreamConnection::resumeClientReading() {
  if (!client_paused_ && !waiting_for_connect_ && transport_.isReading()) return;
  if (pending_input_.size() > kMaxPendingInput) return;
  client_paused_ = false;
  if (state_ == State::kClosed) return;
  const int rc = transport_.startReading();
  if (rc != 0) close();
}

// ---- The response ----

void DownstreamConnection::onUpstreamInformational(const http::Http1Parser& response) {
  // HTTP/1.0 clients cannot take interim responses (RFC 9110 §15.2); after a response has
  // started there is no place for one.
  if (state_ != State::kActive || !client_http11_ || response_started_) return;
  http::DownstreamResponseOptions options;
  options.interim = true;
  std::string head;
  http::buildDownstreamResponseHead(response, options, &head);
  writeClientCopy(head.data(), head.size());  // head_ is reused for the final head
}

http::ParserCallbacks::HeadAction DownstreamConnection::onUpstreamHead(
    const http::Http1Parser& response) {
  if (state_ != State::kActive) return kProceed;
  std::string().swap(replay_);
  replayable_ = false;
  const int status = response.statusCode();
  countStatus(worker_.stats(), status);
  response_status_ = status;
  upstream_head_ns_ = uv_hrtime();
  if (backend_ != nullptr) {
    if (status >= 500) {
      backend_->stats().responses_5xx.add();
      noteBackendFailure();
    } else {
      backend_->noteSuccess();
    }
  }
  if (pool_ != nullptr) {
    pool_->stats->slot(worker_.index())
        .response_header_duration.observeNanos(upstream_head_ns_ - request_started_ns_);
  }

  http::DownstreamResponseOptions options;
  options.client_http11 = client_http11_;
  if (status == 101) {
    options.tunnel = true;
    options.keep_alive = false;
    http::buildDownstreamResponseHead(response, options, &head_);
    writeClient(head_.data(), head_.size());
    response_started_ = true;
    state_ = State::kTunnel;
    worker_.timeouts().cancel(this);  // the backend connection's idle timeout governs tunnels
    if (!pending_input_.empty()) {
      upstream_->writeCopy(pending_input_.data(), pending_input_.size());
      std::string().swap(pending_input_);
    }
    resumeClientReading();
    return kProceed;
  }
  // After a refused Upgrade the client may already be sending the new protocol: close.
  if (upgrade_request_) keep_alive_ = false;
  const bool body_allowed = !head_request_ && status != 204 && status != 304;
  chunk_response_ = false;
  if (body_allowed && !response.hasContentLength() &&
      (response.chunked() || response.bodyUntilEof())) {
    if (client_http11_) {
      chunk_response_ = true;
    } else {
      keep_alive_ = false;  // an HTTP/1.0 client learns the end from the close
    }
  }
  if (worker_.draining()) keep_alive_ = false;
  options.keep_alive = keep_alive_;
  options.chunked_body = chunk_response_;
  std::string pool_header;
  if (route_ != nullptr && !route_->pool_header.empty() && pool_ != nullptr) {
    pool_header = route_->pool_header + ": " + pool_->name + "\r\n";
    options.extra_headers = pool_header;
  }
  http::buildDownstreamResponseHead(response, options, &head_);
  writeClient(head_.data(), head_.size());
  response_started_ = true;
  return kProceed;
}

void DownstreamConnection::onUpstreamBody(const char* data, size_t length) {
  if (state_ != State::kActive) return;
  if (chunk_response_) {
    char chunk_header[24];
    const size_t header_length = http::formatChunkHeader(length, chunk_header);
    writeClientCopy(chunk_header, header_length);
    writeClient(data, length);
    writeClient(http::kChunkTrailer.data(), http::kChunkTrailer.size());
  } else {
    writeClient(data, length);
  }
  if (transport_.aboveHighWatermark() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();
    worker_.timeouts().schedule(this, listenerSettings().client_timeout_ms);
  }
}

void DownstreamConnection::onTransportWritable() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->resumeReading();
    if (state_ != State::kActive || request_complete_) worker_.timeouts().cancel(this);
  }
}

void DownstreamConnection::onUpstreamComplete() {
  upstream_ = nullptr;
  upstream_paused_ = false;
  releaseBackend();
  if (chunk_response_) writeClient(http::kLastChunk.data(), http::kLastChunk.size());
  // The backend answered before the request body ended; the rest of it is never read.
  if (!request_complete_) keep_alive_ = false;
  finishRequest();
}

void DownstreamConnection::onUpstreamTunnelData(const char* data, size_t length) {
  writeClient(data, length);
  if (transport_.aboveHighWatermark() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();
  }
}

void DownstreamConnection::onUpstreamTunnelEof() {
  upstream_eof_ = true;
  transport_.shutdownWrite();
  if (client_eof_) close();
}

void DownstreamConnection::onUpstreamFailure(upstream::UpstreamFailure failure, int uv_status,
                                             bool response_started) {
  upstream_ = nullptr;
  upstream_paused_ = false;
  const std::string backend_address =
      backend_ != nullptr ? backend_->info().address_text : std::string();
  if (backend_ != nullptr) {
    if (failure != upstream::UpstreamFailure::kProtocolError) noteBackendFailure();
    upstream::BackendWorkerStats& stats = backend_->stats();
    switch (failure) {
      case upstream::UpstreamFailure::kConnectFailed:
        stats.connect_failures.add();
        break;
      case upstream::UpstreamFailure::kConnectTimeout:
      case upstream::UpstreamFailure::kResponseTimeout:
      case upstream::UpstreamFailure::kIdleTimeout:
        stats.timeouts.add();
        break;
      case upstream::UpstreamFailure::kClosedEarly:
        stats.resets.add();
        break;
      case upstream::UpstreamFailure::kProtocolError:
        stats.protocol_errors.add();
        break;
    }
  }
  releaseBackend();
  worker_.stats().upstream_failures.add();
  core::logDebug("upstream_failure", {{"backend", backend_address},
                                      {"failure", upstream::failureName(failure)},
                                      {"error", uv_status != 0 ? uv_strerror(uv_status) : ""}});
  if (state_ == State::kActive && response_started_ && withdrawUnsentResponse()) {
    // The head and the bad framing came in one read: nothing reached the client yet, so it
    // gets the 502 it is owed instead of an empty reply.
    respondLocally(502, failureDetail(failure));
    return;
  }
  if (state_ == State::kTunnel || response_started_ || response_started) {
    close();  // part of the response is out: all that is left is to cut the client off
    return;
  }
  if (state_ != State::kActive) return;
  const bool nothing_sent = failure == upstream::UpstreamFailure::kConnectFailed ||
                            failure == upstream::UpstreamFailure::kConnectTimeout;
  // Like nginx's proxy_next_upstream error: a connection that broke before any response byte
  // (a stale keep-alive connection, a backend that died) is retried elsewhere when repeating
  // the request is harmless.
  const bool broke_before_response =
      failure == upstream::UpstreamFailure::kClosedEarly && idempotent();
  last_failure_connect_ = nothing_sent;
  last_failure_timeout_ = failure == upstream::UpstreamFailure::kConnectTimeout;
  if (route_ != nullptr && tries_ <= route_->retries && replayable_ &&
      (nothing_sent || broke_before_response)) {
    worker_.stats().retries.add();
    startUpstream();
    return;
  }
  const bool timed_out = failure == upstream::UpstreamFailure::kConnectTimeout ||
                         failure == upstream::UpstreamFailure::kResponseTimeout ||
                         failure == upstream::UpstreamFailure::kIdleTimeout;
  respondLocally(timed_out ? 504 : 502, failureDetail(failure));
}

bool DownstreamConnection::withdrawUnsentResponse() {
  core::WriteBatch& batch = worker_.loopContext().writeBatch();
  // Every byte of this response still waits in the loop's batch (it is flushed after each read)
  // and none went to the socket: it can be taken back.
  if (response_bytes_ == 0 || batch.pendingFor(&transport_) != response_bytes_ ||
      transport_.pendingWriteBytes() != response_bytes_) {
    return false;
  }
  batch.forget(&transport_);
  response_bytes_ = 0;
  response_started_ = false;
  chunk_response_ = false;
  return true;
}

// ---- Ending exchanges and connections ----

void DownstreamConnection::respondLocally(int status, std::string_view detail) {
  abortUpstream();
  releaseBackend();
  if (response_started_) {
    close();
    return;
  }
  worker_.stats().local_replies.add();
  countStatus(worker_.stats(), status);
  response_status_ = status;
  keep_alive_ = keep_alive_ && request_complete_ && !worker_.draining();
  const std::string reply =
      http::makeLocalReply(status, detail, !keep_alive_, worker_.loopContext().httpDate(),
                           head_request_, local_headers_);
  writeClientCopy(reply.data(), reply.size());
  response_started_ = true;
  finishRequest();
}

void DownstreamConnection::recordRequest() {
  if (response_status_ < 100 || request_started_ns_ == 0) return;
  const uint64_t elapsed_ns = uv_hrtime() - request_started_ns_;
  // Requests without a route (404) or refused before routing count in the worker totals only.
  if (route_ != nullptr && pool_ != nullptr) {
    routing::RoutePoolWorkerStats& stats =
        route_->stats_by_pool[pool_index_]->slot(worker_.index());
    stats.responses[std::min(response_status_ / 100, 5) - 1].add();
    stats.duration.observeNanos(elapsed_ns);
  }
  if (AccessLogWriter* log = worker_.accessLog()) {
    AccessLogRecord record;
    record.client = clientIp();
    // Before the request line was parsed, llhttp's method is a default, not what was sent.
    if (parser_.headComplete()) record.method = parser_.methodName();
    record.target = parser_.url();
    record.status = response_status_;
    record.bytes_in = parser_.messageBytes();
    record.bytes_out = response_bytes_;
    record.duration_ms = static_cast<double>(elapsed_ns) / 1e6;
    if (route_ != nullptr) record.route = route_->name;
    if (pool_ != nullptr) record.pool = pool_->name;
    if (last_backend_ != nullptr) record.backend = last_backend_->address_text;
    if (upstream_head_ns_ != 0) {
      record.upstream_ms = static_cast<double>(upstream_head_ns_ - request_started_ns_) / 1e6;
    }
    record.retries = tries_ > 0 ? tries_ - 1 : 0;
    record.mirrored = mirrored_;
    record.limited_by = limited_by_;
    if (transport_.secure()) record.tls = transport_.tlsDetails();
    log->append(record);
  }
  request_started_ns_ = 0;  // recorded once, even if the connection then closes
}

void DownstreamConnection::finishRequest() {
  // The batch may still point at head_, which is released below.
  worker_.loopContext().writeBatch().flush();
  recordRequest();
  const bool keep = keep_alive_ && !client_eof_ && !worker_.draining();
  const bool whole_request_read = request_complete_;
  resetExchange();
  if (!keep) {
    if (client_closes_ && whole_request_read && pending_input_.empty() &&
        transport_.pendingWriteBytes() == 0) {
      // The client announced its last request, so it sends nothing more (RFC 9112 9.6) and the
      // whole response is in the kernel: a plain close delivers it, as nginx does. Lingering
      // (shutdown, wait for the client's FIN) is for closes the client did not ask for.
      state_ = State::kLingering;
      close();
      return;
    }
    closeAfterResponse();
    return;
  }
  state_ = State::kIdle;
  if (!parsing_) parser_.resume();
  parser_.releaseHead();
  std::string().swap(head_);
  worker_.timeouts().schedule(this, listenerSettings().keepalive_timeout_ms);
  resumeClientReading();
  if (!pending_input_.empty()) worker_.defer(this);
}

void DownstreamConnection::resetExchange() {
  if (mirror_ != nullptr) {
    mirror_->detach();  // an unfinished copy is dropped; a finished one runs on alone
    mirror_ = nullptr;
  }
  mirrored_ = false;
  if (pinned_ != nullptr) {
    worker_.unpin(pinned_);
    pinned_ = nullptr;
  }
  route_ = nullptr;
  absolute_target_.reset();
  forward_target_ = {};
  std::string().swap(normalized_target_);
  pool_ = nullptr;
  pool_index_ = 0;
  pool_id_ = 0;
  response_status_ = 0;
  upstream_head_ns_ = 0;
  response_bytes_ = 0;
  last_backend_ = nullptr;
  tried_.clear();
  std::string().swap(replay_);
  local_status_ = 0;
  local_detail_ = {};
  std::string().swap(local_headers_);
  limited_by_ = {};
  tries_ = 0;
  last_failure_connect_ = false;
  last_failure_timeout_ = false;
  head_request_ = false;
  upgrade_request_ = false;
  request_chunked_ = false;
  request_complete_ = false;
  response_started_ = false;
  chunk_response_ = false;
  replayable_ = true;
  waiting_for_connect_ = false;
  upstream_paused_ = false;
}

void DownstreamConnection::closeAfterResponse() {
  state_ = State::kLingering;
  std::string().swap(pending_input_);
  transport_.shutdownWrite();
  worker_.timeouts().schedule(this, kLingerMs);
  client_paused_ = false;
  // Keep reading (and dropping) until the client closes, so that a reset does not destroy the
  // response still in its receive buffer.
  if (!client_eof_ && transport_.startReading() != 0) close();
  if (client_eof_) close();
}

void DownstreamConnection::abortUpstream() {
  if (upstream_ != nullptr) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  upstream_paused_ = false;
}

void DownstreamConnection::noteBackendFailure() {
  if (backend_->noteFailure()) worker_.reportOutlier(backend_->info());
}

void DownstreamConnection::releaseBackend() {
  if (backend_ != nullptr) {
    backend_->requestFinished();
    backend_ = nullptr;
  }
}

void DownstreamConnection::close() {
  if (state_ == State::kClosed) return;
  // An exchange cut short still counts: with the status the client saw, or 499 (nginx's "client
  // closed the request") when it left before any response.
  if (state_ == State::kActive || state_ == State::kTunnel) {
    if (response_status_ == 0 && parser_.headComplete() && client_eof_) {
      response_status_ = 499;
      countStatus(worker_.stats(), 499);
    }
    recordRequest();
  }
  state_ = State::kClosed;
  abortUpstream();
  releaseBackend();
  resetExchange();
  worker_.timeouts().cancel(this);
  if (deferred) worker_.cancelDeferred(this);
  transport_.close();
}

void DownstreamConnection::drain() {
  if (state_ == State::kIdle) {
    close();
  } else {
    keep_alive_ = false;  // the current response says Connection: close, then we close
  }
}

void DownstreamConnection::forceClose() { close(); }

void DownstreamConnection::onTransportEof() {
  client_eof_ = true;
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      close();
      return;
    case State::kTunnel:
      if (upstream_ != nullptr) upstream_->shutdownWrite();
      if (upstream_eof_) close();
      return;
    case State::kActive:
      if (!request_complete_) {
        close();  // the client gave up before finishing its request
      } else if (!response_started_ && listenerSettings().abort_on_client_close) {
        // Nobody will read the answer: free the backend now (a drain waits for it) and log 499,
        // as nginx does. A half-close (`printf ... | nc`) looks the same; such clients need
        // abort_on_client_close = false.
        close();
      } else {
        // A half-close: the client may still read, so it gets its response (HAProxy's default);
        // a client that is really gone shows up as a reset when we write, and is logged as 499.
        keep_alive_ = false;
      }
      return;
    case State::kClosed:
      return;
  }
}

void DownstreamConnection::onTransportError(int /*uv_status*/) {
  client_eof_ = true;  // the client is gone, as far as the exchange goes
  close();
}

void DownstreamConnection::onTransportClosed() { delete this; }

void DownstreamConnection::onTimeout() {
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      close();  // keep-alive expired, nothing ever arrived, or the client never closed
      return;
    case State::kActive:
      if (!response_started_ && (!parser_.headComplete() || !request_complete_)) {
        keep_alive_ = false;
        abortUpstream();
        releaseBackend();
        respondLocally(408,
                       parser_.headComplete() ? "request body timeout" : "request header timeout");
        return;
      }
      close();  // the client stopped reading the response
      return;
    case State::kTunnel:
    case State::kClosed:
      return;
  }
}

// ---- Writing ----

void DownstreamConnection::writeClient(const char* data, size_t length) {
  worker_.stats().bytes_out.add(length);
  response_bytes_ += length;
  worker_.loopContext().writeBatch().add(&transport_, data, length);
}

void DownstreamConnection::writeClientCopy(const char* data, size_t length) {
  worker_.stats().bytes_out.add(length);
  response_bytes_ += length;
  worker_.loopContext().writeBatch().addCopy(&transport_, data, length);
}

void DownstreamConnection::writeUpstream(const char* data, size_t length) {
  if (upstream_ != nullptr) upstream_->write(data, length);
}

void DownstreamConnection::writeUpstreamCopy(const char* data, size_t length) {
  if (upstream_ != nullptr) upstream_->writeCopy(data, length);
}

}  // namespace sy::proxy
