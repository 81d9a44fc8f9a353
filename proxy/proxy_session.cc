#include "proxy/proxy_session.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "core/thread_recycler.h"
#include "http/https_redirect.h"
#include "http/local_reply.h"
#include "http/message_writer.h"
#include "http/path_normalizer.h"
#include "proxy/mirror_exchange.h"
#include "proxy/request_id.h"
#include "proxy/worker.h"
#include "routing/config/value_rules.h"

namespace sy::proxy {
namespace {

// A retry replays the request body; bodies larger than this are not kept, so such requests
// are not retried once their body started flowing.
constexpr size_t kMaxReplayBytes = 64 * 1024;

std::string_view protocolName(int major, int minor) {
  if (major == 1 && minor == 1) return "HTTP/1.1";
  if (major == 1 && minor == 0) return "HTTP/1.0";
  if (major == 0 && minor == 9) return "HTTP/0.9";
  return "HTTP/?";
}

using SessionRecycler = core::ThreadRecycler<ProxySession, kRecycledExchanges>;

}  // namespace

void* ProxySession::operator new(size_t size) {
  assert(size == sizeof(ProxySession));  // final: no larger subclass
  (void)size;
  return SessionRecycler::allocate();
}

void ProxySession::operator delete(void* block) { SessionRecycler::release(block); }

ProxySession::ProxySession(Worker& worker, ExchangeOwner& owner, const http::Http1Parser& request,
                           uint64_t started_ns)
    : worker_(worker),
      owner_(owner),
      request_(request),
      pinned_(worker.pinCurrent()),
      request_started_ns_(started_ns) {}

ProxySession::~ProxySession() {
  abortUpstream();
  releaseBackend();
  if (mirror_ != nullptr) {
    mirror_->detach();  // an unfinished copy is dropped; a finished one runs on alone
  }
  worker_.unpin(pinned_);
}

bool ProxySession::keepAliveEnds() const {
  return worker_.draining() || owner_.keepAliveWithdrawn();
}

// ---- Routing ----

void ProxySession::start() {
  const routing::ConfigSnapshot& snapshot = *pinned_->snapshot;
  client_http11_ = request_.isHttp11OrLater();
  client_closes_ = !request_.keepAlive();
  keep_alive_ = !client_closes_ && !keepAliveEnds();
  head_request_ = request_.method() == HTTP_HEAD;
  // Only WebSocket upgrades become tunnels; others (h2c) are plain requests to the backend.
  upgrade_request_ =
      request_.upgrade() && request_.method() != HTTP_CONNECT &&
      core::equalsIgnoreCase(request_.headers().find("upgrade").value_or(std::string_view()),
                             "websocket");
  request_chunked_ = request_.chunked();
  max_body_bytes_ = owner_.listenerSettings().max_body_bytes;
  assignRequestId();

  if (request_.method() == HTTP_CONNECT) {
    // A reverse proxy does not open tunnels to arbitrary hosts.
    keep_alive_ = false;
    local_status_ = 405;
    local_detail_ = "CONNECT is not supported";
    return;
  }
  // An absolute-form target names the host itself, and then Host is ignored (RFC 9112 §3.2.2):
  // routing and the backend must both see that host, or a route's host restriction could be
  // bypassed by a Host header that disagrees with the target.
  absolute_target_ = http::splitAbsoluteForm(request_.url());
  if (owner_.listenerSettings().redirect_to_https) {
    if (!refuseOverRateLimit()) redirectToHttps();
    return;
  }
  if (!normalizeTarget()) return;
  const std::string_view host = absolute_target_
                                    ? absolute_target_->authority
                                    : request_.headers().find("host").value_or(std::string_view());
  const std::string_view target = forward_target_.empty() ? request_.url() : forward_target_;
  std::optional<std::string_view> sni;  // looked up only when a route asks for it
  if (snapshot.routes.usesSni() && owner_.clientSecure()) {
    sni = owner_.clientTlsDetails().value_or(tls::TlsDetails{}).sni;
  }
  route_ = snapshot.routes.match(host, target, sni);
  if (route_ != nullptr && (route_->request_id_header || route_->request_id_always)) {
    assignRequestId();
  }
  if (refuseOverRateLimit()) return;
  if (route_ == nullptr) {
    refuse(404, "no route for this host and path");
    return;
  }
  if (refuseOverMaxBody()) return;
  if (const routing::RouteShaping* shaping = route_->shaping.get()) {
    if (shaping->answer) {
      answerFromRoute(*shaping->answer);
      return;
    }
    // After routing: the route was chosen on the path as received (normalised).
    if (shaping->path) {
      shaping->path->apply(target, &shaped_target_);
      forward_target_ = shaped_target_;
    }
  }
  routing::SplitInput split;
  split.headers = &request_.headers();
  split.target = target;
  if (route_->sticky &&
      route_->sticky->source == routing::config::HashKeyConfig::Source::kClientIp) {
    split.client_ip = owner_.clientIp();
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
  if (client_http11_ && request_.hasBody()) {
    const auto expect = request_.headers().find("expect");
    if (expect && core::equalsIgnoreCase(*expect, "100-continue")) {
      writeClient(http::kContinueResponse.data(), http::kContinueResponse.size());
    }
  }
  if (route_->mirror_pool_index >= 0) {
    split.random = worker_.nextRandom();  // independent of the canary draw
    maybeMirror(split);
  }
  startUpstream();
}

void ProxySession::refuse(int status, std::string_view detail) {
  local_status_ = status;
  local_detail_ = detail;
  // With a body still to come, answer now and close rather than read it all.
  if (request_.hasBody()) respondLocally(local_status_, local_detail_);
}

void ProxySession::assignRequestId() {
  const routing::RequestIdSettings& listener = owner_.listenerSettings().request_id;
  const routing::RequestIdSettings& named =
      route_ != nullptr && route_->request_id_header ? *route_->request_id_header : listener;
  const bool always =
      route_ != nullptr && route_->request_id_always ? *route_->request_id_always : listener.always;
  request_id_header_ = named.header;
  request_id_ = {};
  request_id_generated_ = false;
  if (request_id_header_.empty()) return;
  if (!always) {
    // The client's own id goes on unchanged; one that could not be logged or forwarded safely
    // counts as none.
    const std::optional<std::string_view> sent = request_.headers().find(named.header_lower);
    if (sent && routing::config::acceptableRequestId(*sent)) {
      request_id_ = *sent;
      return;
    }
    // A traced request keeps its trace's id, so that logs and traces join on it.
    if (const auto traceparent = request_.headers().find("traceparent")) {
      if (const auto trace_id = traceIdOf(*traceparent)) {
        request_id_ = *trace_id;
        request_id_generated_ = true;
        return;
      }
    }
  }
  generateRequestId(generated_id_);
  request_id_ = std::string_view(generated_id_, sizeof(generated_id_));
  request_id_generated_ = true;
}

std::string ProxySession::requestIdLine() const {
  if (request_id_.empty()) return {};
  std::string line;
  line.reserve(request_id_header_.size() + request_id_.size() + 4);
  line.append(request_id_header_).append(": ").append(request_id_).append("\r\n");
  return line;
}

std::string_view ProxySession::requestIdHeaderLower() const {
  const routing::RequestIdSettings& listener = owner_.listenerSettings().request_id;
  return route_ != nullptr && route_->request_id_header ? route_->request_id_header->header_lower
                                                        : listener.header_lower;
}

bool ProxySession::refuseOverMaxBody() {
  if (route_->max_body_bytes) max_body_bytes_ = *route_->max_body_bytes;
  if (max_body_bytes_ == 0 || !request_.hasContentLength() ||
      request_.contentLength() <= max_body_bytes_) {
    return false;
  }
  // Refused before a byte goes upstream; the body is not read (nginx's client_max_body_size).
  keep_alive_ = false;
  refuse(413, "the request body is larger than max_body");
  return true;
}

bool ProxySession::normalizeTarget() {
  const std::string_view received =
      absolute_target_ ? absolute_target_->origin_form : request_.url();
  forward_target_ = absolute_target_ ? received : std::string_view();
  // A route chosen by path prefix must see the path the backend will resolve: "/public/../admin"
  // and "/public/%2e%2e/admin" are "/admin" to any backend that follows RFC 3986.
  const routing::ListenerSettings& listener = owner_.listenerSettings();
  http::NormalizedPath normalized = http::normalizeRequestPath(received, listener.path);
  using Outcome = http::NormalizedPath::Outcome;
  if (normalized.outcome == Outcome::kUnchanged) return true;
  if (normalized.outcome == Outcome::kInvalid ||
      (normalized.outcome == Outcome::kResolved && listener.reject_unnormalized_paths)) {
    keep_alive_ = false;
    refuse(400, normalized.outcome == Outcome::kInvalid ? normalized.error
                                                        : "the path is not in normal form");
    return false;
  }
  normalized_target_ = std::move(normalized.target);
  forward_target_ = normalized_target_;
  return true;
}

void ProxySession::redirectToHttps() {
  // The target as the client sent it: the HTTPS listener normalizes (or refuses) it itself.
  const std::string_view host = absolute_target_
                                    ? absolute_target_->authority
                                    : request_.headers().find("host").value_or(std::string_view());
  const std::string_view target = absolute_target_ ? absolute_target_->origin_form : request_.url();
  std::optional<std::string> location =
      http::httpsLocation(host, target, owner_.listenerSettings().https_port);
  if (!location.has_value()) {
    refuse(400, "no usable Host header to redirect to HTTPS");
    return;
  }
  local_headers_ = absl::StrCat("Location: ", *location, "\r\n");
  refuse(308, "this site is served over HTTPS");  // RFC 9110 §15.4.9: the method is kept
}

void ProxySession::answerFromRoute(const routing::LocalAnswer& answer) {
  route_answer_ = &answer;
  const http::TemplateValues values = templateValues();
  if (answer.location) {
    local_headers_.append("Location: ");
    answer.location->expandTo(values, &local_headers_);
    local_headers_.append("\r\n");
  }
  // As nginx's add_header, the route's response headers go on its own answers too.
  const routing::RouteShaping& shaping = *route_->shaping;
  if (shaping.response_headers) shaping.response_headers->appendLines(values, &local_headers_);
  refuse(answer.status, {});
}

http::TemplateValues ProxySession::templateValues() const {
  http::TemplateValues values;
  values.client_ip = owner_.clientIp();
  values.scheme = owner_.clientSecure() ? "https" : "http";
  values.host = routing::normalizeHost(
      absolute_target_ ? absolute_target_->authority
                       : request_.headers().find("host").value_or(std::string_view()));
  values.path = absolute_target_ ? absolute_target_->origin_form : request_.url();
  if (route_ != nullptr) values.route = route_->name;
  if (pool_ != nullptr) values.pool = pool_->name;
  if (last_backend_ != nullptr) values.backend = last_backend_->address_text;
  // The id this request is logged under (request_id); without one, the client's X-Request-ID.
  values.request_id = !request_id_.empty()
                          ? request_id_
                          : request_.headers().find("x-request-id").value_or(std::string_view());
  return values;
}

bool ProxySession::refuseOverRateLimit() {
  if (!ClientLimits::rateLimited(owner_.listenerSettings(), route_)) return false;
  const RateVerdict verdict = worker_.clientLimits().checkRequest(
      owner_.listenerId(), owner_.listenerSettings(), route_, owner_.peerAddress().sockaddr_ptr(),
      request_.headers(), uv_now(worker_.loop()) * 1000000);
  if (verdict.allowed) return false;
  local_headers_ = absl::StrCat("Retry-After: ", verdict.retry_after_seconds, "\r\n");
  limited_by_ = routing::limitReasonName(routing::LimitReason::kRateLimit);
  refuse(429, "request rate limit exceeded");  // RFC 6585 §4
  return true;
}

// ---- Mirroring ----

void ProxySession::maybeMirror(const routing::SplitInput& split) {
  const routing::config::MirrorConfig& config = *route_->mirror;
  if (upgrade_request_ || !routing::sampleMirror(*route_, split)) return;
  if (!config.methods.empty()) {
    bool listed = false;
    for (const std::string& method : config.methods)
      listed = listed || method == request_.methodName();
    if (!listed) return;
  }
  const std::shared_ptr<routing::MirrorStats>& mirror_stats =
      route_->mirror_stats_by_pool[static_cast<size_t>(route_->mirror_pool_index)];
  routing::MirrorWorkerStats& stats = mirror_stats->slot(worker_.index());
  if ((request_.hasContentLength() && request_.contentLength() > config.max_body_bytes) ||
      worker_.mirrorsInFlight() >= config.max_in_flight) {
    stats.dropped.add();
    return;
  }
  WorkerPool* pool = worker_.poolAt(static_cast<uint32_t>(route_->mirror_pool_index));
  http::UpstreamRequestOptions options;
  options.client_ip = owner_.clientIp();
  if (owner_.clientSecure()) options.proto = "https";
  options.host_fallback = pool->snapshot().name;
  options.target = forward_target_;
  if (absolute_target_) options.host = absolute_target_->authority;
  options.drop_expect = true;
  options.host_suffix = config.host_suffix;
  options.drop_header = config.header;
  http::TemplateValues values;
  if (route_->shaping != nullptr && route_->shaping->request_headers) {
    values = templateValues();
    options.edits = &*route_->shaping->request_headers;
    options.values = &values;
  }
  std::string marker;
  if (!config.header.empty()) marker = config.header + ": 1\r\n";
  // The copy goes by the same request id as the original, so that both can be found.
  if (request_id_generated_) {
    options.replace_header = request_id_header_;
    marker += requestIdLine();
  }
  options.extra_headers = marker;
  std::string head;
  http::buildUpstreamRequestHead(request_, options, &head);
  MirrorExchange::Settings settings;
  settings.timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(config.timeout));
  settings.max_buffer_bytes = config.max_buffer_bytes;
  settings.max_body_bytes = config.max_body_bytes;
  mirror_ =
      MirrorExchange::start(worker_, *pool, std::move(head), head_request_, settings, mirror_stats);
  mirrored_ = mirror_ != nullptr;
}

void ProxySession::mirrorBody(const char* data, size_t length, uint64_t payload_bytes) {
  if (mirror_ != nullptr) mirror_->body(data, length, payload_bytes);
}

// ---- The request body ----

void ProxySession::onRequestBody(const char* data, size_t length) {
  if (local_status_ != 0) return;
  body_bytes_ += length;
  if (max_body_bytes_ != 0 && body_bytes_ > max_body_bytes_) {
    // A chunked body (Content-Length was checked at the head) grew past max_body. What reached
    // the backend is cut off (the connection is reset, so it cannot take a partial body for a
    // whole one); the client gets its 413 unless a response already started, and then the
    // connection closes.
    keep_alive_ = false;
    respondLocally(413, "the request body is larger than max_body");
    return;
  }
  if (upstream_ == nullptr) return;
  owner_.scheduleClientTimeout();
  forwardRequestBody(data, length);
}

void ProxySession::forwardRequestBody(const char* data, size_t length) {
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
  if (upstream_ != nullptr && upstream_->aboveHighWatermark()) owner_.pauseClientReading();
}

void ProxySession::onRequestComplete() {
  request_complete_ = true;
  if (mirror_ != nullptr) {
    if (request_chunked_) mirrorBody(http::kLastChunk.data(), http::kLastChunk.size(), 0);
    mirror_->requestComplete();
    mirror_->detach();
    mirror_ = nullptr;
  }
  if (local_status_ != 0) return;  // answered by the connection once the parser returns
  if (upstream_ == nullptr) return;
  if (request_chunked_) {
    writeUpstream(http::kLastChunk.data(), http::kLastChunk.size());
    if (replayable_) replay_.append(http::kLastChunk);
  }
  upstream_->requestComplete();
}

// ---- Ending the exchange ----

void ProxySession::respondLocally(int status, std::string_view detail) {
  abortUpstream();
  releaseBackend();
  if (response_started_) {
    owner_.closeConnection();
    return;
  }
  worker_.stats().local_replies.add();
  countStatus(status);
  response_status_ = status;
  keep_alive_ = keep_alive_ && request_complete_ && !keepAliveEnds();
  const std::string extra_headers = local_headers_ + requestIdLine();
  const std::string reply =
      route_answer_ != nullptr && route_answer_->status == status
          ? http::makeFixedReply(status, route_answer_->content_type, route_answer_->body,
                                 !keep_alive_, worker_.loopContext().httpDate(), head_request_,
                                 extra_headers)
          : http::makeLocalReply(status, detail, !keep_alive_, worker_.loopContext().httpDate(),
                                 head_request_, extra_headers);
  writeClientCopy(reply.data(), reply.size());
  response_started_ = true;
  finish();
}

void ProxySession::finish() {
  // The batch may still point at head_, which goes with this session.
  owner_.flushClientWrites();
  record();
  owner_.exchangeFinished();
}

void ProxySession::recordCutShort(std::string_view cut_by) {
  cut_by_ = cut_by;
  if (response_status_ == 0 && request_.headComplete() && owner_.clientEof()) {
    response_status_ = 499;
    countStatus(499);
  } else if (response_status_ == 0 && request_.headComplete() && !cut_by.empty()) {
    // No response reached the client; 503 is what a retrying client should make of it.
    response_status_ = 503;
    countStatus(503);
  }
  record();
}

void ProxySession::record() {
  if (response_status_ < 100 || recorded_) return;
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
    record.client = owner_.clientIp();
    // Before the request line was parsed, llhttp's method is a default, not what was sent.
    if (request_.headComplete()) record.method = request_.methodName();
    record.target = request_.url();
    if (request_.headComplete()) {
      record.host = absolute_target_ ? absolute_target_->authority
                                     : request_.headers().find("host").value_or(std::string_view());
      record.protocol = owner_.clientHttp2()
                            ? "HTTP/2.0"
                            : protocolName(request_.versionMajor(), request_.versionMinor());
      record.user_agent = request_.headers().find("user-agent").value_or(std::string_view());
      record.referer = request_.headers().find("referer").value_or(std::string_view());
    }
    record.request_id = request_id_;
    record.status = response_status_;
    record.bytes_in = request_.messageBytes();
    record.bytes_out = response_bytes_;
    record.duration_ms = static_cast<double>(elapsed_ns) / 1e6;
    if (route_ != nullptr) record.route = route_->name;
    if (pool_ != nullptr) record.pool = pool_->name;
    if (last_backend_ != nullptr) record.backend = last_backend_->address_text;
    if (upstream_head_ns_ != 0) {
      record.upstream_ms = static_cast<double>(upstream_head_ns_ - request_started_ns_) / 1e6;
    }
    if (try_started_ns_ != 0) {
      auto since_try = [&](uint64_t ns) {
        return ns >= try_started_ns_ ? static_cast<double>(ns - try_started_ns_) / 1e6 : -1.0;
      };
      if (try_connected_ns_ != 0) record.upstream_connect_ms = since_try(try_connected_ns_);
      if (upstream_head_ns_ != 0) record.upstream_header_ms = since_try(upstream_head_ns_);
      if (upstream_done_ns_ != 0) record.upstream_total_ms = since_try(upstream_done_ns_);
    }
    record.retries = tries_ > 0 ? tries_ - 1 : 0;
    record.mirrored = mirrored_;
    record.limited_by = limited_by_;
    record.reason = cut_by_;
    record.tls = owner_.clientTlsDetails();
    const auto& log_config = pinned_->snapshot->config->access_log;
    if (log_config.has_value() && !log_config->fields.empty()) {
      log->append(record, log_config->fields);
    } else {
      log->append(record);
    }
  }
  recorded_ = true;  // recorded once, even if the connection then closes
}

void ProxySession::countStatus(int status) {
  core::WorkerStats& stats = worker_.stats();
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

}  // namespace sy::proxy
