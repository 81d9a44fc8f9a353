// ProxySession, the backend side: picking a backend, retrying, relaying the response (or the
// tunnel after 101) to the client with backpressure.

#include <algorithm>

#include "core/log.h"
#include "core/stable_hash.h"
#include "http/message_writer.h"
#include "proxy/proxy_session.h"
#include "proxy/worker.h"
#include "upstream/connection_pool.h"

namespace sy::proxy {

// ---- Choosing a backend ----

bool ProxySession::idempotent() const {
  switch (request_.method()) {
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

std::optional<uint64_t> ProxySession::hashKey(const upstream::PoolSnapshot& pool) {
  if (!pool.settings.hash_key) return std::nullopt;
  const routing::config::HashKeyConfig& key = *pool.settings.hash_key;
  switch (key.source) {
    case routing::config::HashKeyConfig::Source::kClientIp:
      return core::stableHash(owner_.clientIp());
    case routing::config::HashKeyConfig::Source::kHeader:
      if (auto value = request_.headers().find(key.name)) return core::stableHash(*value);
      return std::nullopt;
    case routing::config::HashKeyConfig::Source::kCookie:
      if (auto value = http::findCookie(request_.headers(), key.name)) {
        return core::stableHash(*value);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

void ProxySession::startUpstream() {
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
    if (last_connect_failure_.has_value() &&
        std::find(tried_.begin(), tried_.end(), static_cast<uint32_t>(index)) != tried_.end()) {
      const upstream::UpstreamFailureInfo& info = upstream::failureInfo(*last_connect_failure_);
      respondLocally(info.status, info.every_backend_detail);
      return;
    }
    backend_ = pool->backend(static_cast<uint32_t>(index));
    last_backend_ = pool->snapshot().backends[static_cast<size_t>(index)].info.get();
    backend_->requestStarted();
    ++tries_;
    tried_.push_back(static_cast<uint32_t>(index));
    if (tries_ == 1) {
      http::UpstreamRequestOptions options;
      options.client_ip = owner_.clientIp();
      if (owner_.clientSecure()) options.proto = "https";
      options.host_fallback = backend_->info().address_text;
      options.target = forward_target_;
      if (absolute_target_) options.host = absolute_target_->authority;
      options.tunnel = upgrade_request_;
      options.drop_expect = true;
      // Only the proxy marks copies: a client's marker would pass a real request off as one.
      if (route_->mirror != nullptr) options.drop_header = route_->mirror->header;
      // A generated (or trace-derived) id replaces whatever the client sent under that name.
      std::string id_line;
      if (request_id_generated_) {
        options.replace_header = request_id_header_;
        id_line = requestIdLine();
        options.extra_headers = id_line;
      }
      http::TemplateValues values;
      if (route_->shaping != nullptr && route_->shaping->request_headers) {
        values = templateValues();
        values.backend = {};  // the head is replayed to other backends on a retry
        options.edits = &*route_->shaping->request_headers;
        options.values = &values;
      }
      http::buildUpstreamRequestHead(request_, options, &head_);
    }
    int error = 0;
    try_started_ns_ = uv_hrtime();
    try_connected_ns_ = 0;
    upstream_ = backend_->acquire(&error);
    if (upstream_ != nullptr) break;
    core::logDebug("upstream_connect_failed", [&] {
      nlohmann::json line{{"backend", backend_->info().address_text},
                          {"error", uv_strerror(error)}};
      if (!request_id_.empty()) line["request_id"] = request_id_;
      return line;
    });
    const upstream::UpstreamFailureInfo& info =
        upstream::failureInfo(upstream::UpstreamFailure::kConnectFailed);
    (backend_->stats().*info.counter).add();
    if (info.counts_for_ejection) noteBackendFailure();
    releaseBackend();
    worker_.stats().upstream_failures.add();
    last_connect_failure_ = upstream::UpstreamFailure::kConnectFailed;
    if (tries_ > route_->retries) {
      respondLocally(info.status, info.detail);
      return;
    }
    worker_.stats().retries.add();
  }
  upstream_->attach(this, head_request_, upgrade_request_);
  if (upstream_->connected()) try_connected_ns_ = try_started_ns_;  // a kept-alive connection
  writeUpstream(head_.data(), head_.size());
  if (!replay_.empty()) writeUpstreamCopy(replay_.data(), replay_.size());
  if (request_complete_) upstream_->requestComplete();
  if (!upstream_->connected() && !request_complete_ && request_.hasBody()) {
    // Hold the body until the backend accepts the connection, so that a failed connect can
    // be retried elsewhere with everything we read still at hand.
    waiting_for_connect_ = true;
    owner_.holdClientReading();
  }
}

void ProxySession::onUpstreamConnected() {
  try_connected_ns_ = uv_hrtime();
  if (waiting_for_connect_) {
    waiting_for_connect_ = false;
    owner_.resumeClientReading();
  }
}

void ProxySession::onUpstreamWritable() {
  if (owner_.clientReadingPaused() && !waiting_for_connect_) owner_.resumeClientReading();
}

// ---- The response ----

void ProxySession::onUpstreamInformational(const http::Http1Parser& response) {
  // HTTP/1.0 clients cannot take interim responses (RFC 9110 §15.2); after a response has
  // started there is no place for one.
  if (tunnel_ || !client_http11_ || response_started_) return;
  http::DownstreamResponseOptions options;
  options.interim = true;
  if (owner_.takesResponseFields()) {  // HTTP/2: a HEADERS frame of its own (RFC 9113 §8.1)
    response_bytes_ += owner_.sendInterimResponse(response, options);
    return;
  }
  std::string head;
  http::buildDownstreamResponseHead(response, options, &head);
  writeClientCopy(head.data(), head.size());  // head_ is reused for the final head
}

http::ParserCallbacks::HeadAction ProxySession::onUpstreamHead(const http::Http1Parser& response) {
  if (tunnel_) return http::ParserCallbacks::kProceed;
  std::string().swap(replay_);
  replayable_ = false;
  const int status = response.statusCode();
  countStatus(status);
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
  http::TemplateValues values;
  if (route_ != nullptr && route_->shaping != nullptr && route_->shaping->response_headers) {
    values = templateValues();
    options.edits = &*route_->shaping->response_headers;
    options.values = &values;
  }
  if (status == 101) {
    options.tunnel = true;
    options.keep_alive = false;
    http::buildDownstreamResponseHead(response, options, &head_);
    writeClient(head_.data(), head_.size());
    response_started_ = true;
    tunnel_ = true;
    std::string pending;
    owner_.enterTunnel(&pending);
    if (!pending.empty()) upstream_->writeCopy(pending.data(), pending.size());
    owner_.resumeClientReading();
    return http::ParserCallbacks::kProceed;
  }
  // After a refused Upgrade the client may already be sending the new protocol: close.
  if (upgrade_request_) keep_alive_ = false;
  const bool body_allowed = !head_request_ && status != 204 && status != 304;
  const bool fields_only = owner_.takesResponseFields();  // HTTP/2 frames the body itself
  chunk_response_ = false;
  if (!fields_only && body_allowed && !response.hasContentLength() &&
      (response.chunked() || response.bodyUntilEof())) {
    if (client_http11_) {
      chunk_response_ = true;
    } else {
      keep_alive_ = false;  // an HTTP/1.0 client learns the end from the close
    }
  }
  if (keepAliveEnds()) keep_alive_ = false;
  options.keep_alive = keep_alive_;
  options.chunked_body = chunk_response_;
  std::string extra_headers;
  if (route_ != nullptr && !route_->pool_header.empty() && pool_ != nullptr) {
    extra_headers = route_->pool_header + ": " + pool_->name + "\r\n";
  }
  // The client learns the id its request went by, unless the backend already answered with one.
  if (!request_id_.empty() && !response.headers().find(requestIdHeaderLower()).has_value()) {
    extra_headers += requestIdLine();
  }
  options.extra_headers = extra_headers;
  if (fields_only) {
    response_bytes_ += owner_.sendResponseHead(response, options);
  } else {
    http::buildDownstreamResponseHead(response, options, &head_);
    writeClient(head_.data(), head_.size());
  }
  response_started_ = true;
  return http::ParserCallbacks::kProceed;
}

void ProxySession::onUpstreamBody(const char* data, size_t length) {
  if (tunnel_) return;
  if (chunk_response_) {
    char chunk_header[24];
    const size_t header_length = http::formatChunkHeader(length, chunk_header);
    writeClientCopy(chunk_header, header_length);
    writeClient(data, length);
    writeClient(http::kChunkTrailer.data(), http::kChunkTrailer.size());
  } else {
    writeClient(data, length);
  }
  if (owner_.clientAboveHighWatermark() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();
    owner_.scheduleClientTimeout();
  }
}

void ProxySession::onClientWritable() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->resumeReading();
    if (tunnel_ || request_complete_) owner_.cancelClientTimeout();
  }
}

void ProxySession::onUpstreamComplete() {
  upstream_done_ns_ = uv_hrtime();
  upstream_ = nullptr;
  upstream_paused_ = false;
  releaseBackend();
  if (chunk_response_) writeClient(http::kLastChunk.data(), http::kLastChunk.size());
  // The backend answered before the request body ended; the rest of it is never read.
  if (!request_complete_) keep_alive_ = false;
  finish();
}

// ---- Tunnels (after 101 Switching Protocols) ----

void ProxySession::onUpstreamTunnelData(const char* data, size_t length) {
  writeClient(data, length);
  if (owner_.clientAboveHighWatermark() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();
  }
}

void ProxySession::onUpstreamTunnelEof() {
  upstream_eof_ = true;
  owner_.shutdownClientWrite();
  if (owner_.clientEof()) owner_.closeConnection();
}

void ProxySession::onClientTunnelData(const char* data, size_t length) {
  if (upstream_ == nullptr) return;
  upstream_->write(data, length);
  if (upstream_->aboveHighWatermark()) owner_.pauseClientReading();
}

bool ProxySession::onClientTunnelEof() {
  if (upstream_ != nullptr) upstream_->shutdownWrite();
  return upstream_eof_;
}

// ---- Failures and retries ----

void ProxySession::onUpstreamFailure(upstream::UpstreamFailure failure, int uv_status,
                                     bool response_started) {
  upstream_ = nullptr;
  upstream_paused_ = false;
  const upstream::UpstreamFailureInfo& info = upstream::failureInfo(failure);
  // Logged before the backend is released, so that its address need not be copied.
  core::logDebug("upstream_failure", [&] {
    nlohmann::json line{
        {"backend", backend_ != nullptr ? backend_->info().address_text : std::string()},
        {"failure", info.name},
        {"error", uv_status != 0 ? uv_strerror(uv_status) : ""}};
    if (!request_id_.empty()) line["request_id"] = request_id_;
    return line;
  });
  if (backend_ != nullptr) {
    if (info.counts_for_ejection) noteBackendFailure();
    (backend_->stats().*info.counter).add();
  }
  releaseBackend();
  worker_.stats().upstream_failures.add();
  if (!tunnel_ && response_started_ && withdrawUnsentResponse()) {
    // The head and the bad framing came in one read: nothing reached the client yet, so it
    // gets the 502 it is owed instead of an empty reply (the backend did answer: whatever broke
    // its answer, it is a bad gateway's, not a timeout's).
    respondLocally(502, info.detail);
    return;
  }
  if (tunnel_ || response_started_ || response_started) {
    owner_.closeConnection();  // part of the response is out: all that is left is to cut off
    return;
  }
  const bool nothing_sent = info.retry == upstream::FailureRetry::kAlways;
  const bool retryable =
      nothing_sent || (info.retry == upstream::FailureRetry::kIfIdempotent && idempotent());
  last_connect_failure_ = nothing_sent ? std::optional(failure) : std::nullopt;
  if (route_ != nullptr && tries_ <= route_->retries && replayable_ && retryable) {
    worker_.stats().retries.add();
    startUpstream();
    return;
  }
  respondLocally(info.status, info.detail);
}

bool ProxySession::withdrawUnsentResponse() {
  if (!owner_.withdrawUnsentResponse(response_bytes_)) return false;
  response_bytes_ = 0;
  response_started_ = false;
  chunk_response_ = false;
  return true;
}

void ProxySession::abortUpstream() {
  if (upstream_ != nullptr) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  upstream_paused_ = false;
}

void ProxySession::noteBackendFailure() {
  if (backend_->noteFailure()) worker_.reportOutlier(backend_->info());
}

void ProxySession::releaseBackend() {
  if (backend_ != nullptr) {
    backend_->requestFinished();
    backend_ = nullptr;
  }
}

// ---- Writing ----

void ProxySession::writeClient(const char* data, size_t length) {
  response_bytes_ += length;
  owner_.writeToClient(data, length);
}

void ProxySession::writeClientCopy(const char* data, size_t length) {
  response_bytes_ += length;
  owner_.writeToClientCopy(data, length);
}

void ProxySession::writeUpstream(const char* data, size_t length) {
  if (upstream_ != nullptr) upstream_->write(data, length);
}

void ProxySession::writeUpstreamCopy(const char* data, size_t length) {
  if (upstream_ != nullptr) upstream_->writeCopy(data, length);
}

}  // namespace sy::proxy
