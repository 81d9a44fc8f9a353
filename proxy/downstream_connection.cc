#include "proxy/downstream_connection.h"

#include <algorithm>
#include <memory>
#include <new>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/proxy_protocol.h"
#include "http/lingering_close.h"
#include "proxy/worker.h"

namespace sy::proxy {
namespace {

// RFC 9113 §3.4: what an HTTP/2 client sends first (h2c with prior knowledge, and over TLS).
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

struct DownstreamConnection::ProxyPreamble {
  // The listener's TLS context when the connection was accepted: TLS starts after the header.
  std::shared_ptr<const tls::ServerContext> tls;
  tls::HandshakeWorkerStats* tls_stats = nullptr;
  // Header bytes that came in pieces, until the header is complete (then freed).
  std::string partial;
  bool done = false;
  // The header's source; none for LOCAL/UNKNOWN (the socket's peer stays the client).
  std::optional<core::NetAddress> client;
};

// The parser's callbacks live here rather than on the connection: one vtable pointer fewer on
// every idle connection.
struct DownstreamConnection::Request final : http::ParserCallbacks {
  explicit Request(DownstreamConnection& owner)
      : connection(owner), parser(http::Http1Parser::Type::kRequest, this) {}

  HeadAction onHeadComplete() override { return connection.onHeadComplete(); }
  void onBody(const char* data, size_t length) override { connection.onBody(data, length); }
  void onMessageComplete() override { connection.onMessageComplete(); }

  DownstreamConnection& connection;
  http::Http1Parser parser;
  uint64_t started_ns = 0;  // the current request's first byte
  std::string client_ip;    // clientIp(), formatted when first asked for
};

DownstreamConnection::DownstreamConnection(Worker& worker, uint32_t listener_id)
    : worker_(worker), transport_(worker.loop()), listener_id_(listener_id) {
  transport_.setCallbacks(this);
  worker_.connectionOpened(this);
}

DownstreamConnection::~DownstreamConnection() {
  worker_.timeouts().cancel(this);
  if (deferred) worker_.cancelDeferred(this);
  worker_.connectionClosed(this);
  if (speaks_h2_) {
    H2Connection::destroy(h2_memory_, worker_, *this);
    std::destroy_at(&h2_memory_);
  } else {
    std::destroy_at(&http1_);
  }
}

const routing::ListenerSettings& DownstreamConnection::listenerSettings() const {
  return worker_.listenerSettings(listener_id_);
}

H2Connection& DownstreamConnection::h2() {
  // A hibernated connection's object is in its packed slot: back first.
  if (h2_memory_.hibernated()) H2Connection::wakeHibernated(h2_memory_, worker_, *this);
  return *H2Connection::at(h2_memory_);
}

void DownstreamConnection::switchToHttp2Memory() {
  if (speaks_h2_) return;
  std::destroy_at(&http1_);
  new (&h2_memory_) H2SessionMemory();
  speaks_h2_ = true;
}

core::NetAddress DownstreamConnection::peerAddress() const {
  const ProxyPreamble* preamble = proxyPreamble();
  if (preamble != nullptr && preamble->client.has_value()) return *preamble->client;
  return transport_.peerAddress();
}

std::string DownstreamConnection::formatClientIp() const {
  const ProxyPreamble* preamble = proxyPreamble();
  if (preamble != nullptr && preamble->client.has_value()) return preamble->client->hostString();
  // The address the listener's accept() gave: no getpeername(2), no inet_ntop for IPv4.
  if (ticket_.held()) {
    // The last address formatted on this thread: keep-alive clients and clients behind one
    // proxy ask for the same text request after request (a compare and a short copy).
    struct LastText {
      core::IpAddress address;
      bool v6_socket = false;
      std::string text;
    };
    thread_local LastText last;
    const core::IpAddress& address = ticket_.address();
    if (last.text.empty() || !(last.address == address) ||
        last.v6_socket != ticket_.peerIsV6Socket()) {
      last.address = address;
      last.v6_socket = ticket_.peerIsV6Socket();
      last.text = address.toString();
      if (last.v6_socket && address.isV4()) last.text.insert(0, "::ffff:");
    }
    return last.text;
  }
  return transport_.peerAddress().hostString();
}

const std::string& DownstreamConnection::clientIp() {
  // Kept in the request (an idle connection holds no text); an HTTP/2 connection's streams
  // share one copy for the connection's life.
  std::string* cache;
  if (speaks_h2_) {
    cache = &h2().clientIpCache();  // also after close(): the object lives until the end
  } else if (http1_.request != nullptr) {
    cache = &http1_.request->client_ip;
  } else {
    // Not expected (an exchange exists only with its request), but never a dangling answer.
    thread_local std::string scratch;
    scratch = formatClientIp();
    return scratch;
  }
  if (cache->empty()) *cache = formatClientIp();
  return *cache;
}

int DownstreamConnection::accept(int fd) {
  const routing::ListenerSettings& settings = listenerSettings();
  tls::HandshakeWorkerStats* tls_stats = &settings.tls_stats->slot(worker_.index());
  if (settings.proxy_protocol) {
    ProxyPreamble& preamble = *(proxy_ = std::make_unique<ProxyPreamble>());
    preamble.tls = settings.tls;
    preamble.tls_stats = tls_stats;
  }
  // Behind a PROXY header the socket starts in the clear (startTls follows the header).
  int rc = transport_.adopt(fd, settings.proxy_protocol ? nullptr : settings.tls, tls_stats);
  if (rc == 0) rc = transport_.startReading();
  if (rc != 0) {
    close();
    return rc;
  }
  worker_.stats().connections_accepted.add();
  // The first request gets the header timeout from the moment the connection exists; on a
  // proxy_protocol listener the same timeout covers the PROXY header (and the TLS handshake).
  worker_.timeouts().schedule(this, settings.header_timeout_ms);
  if (proxyPreamble() != nullptr &&
      !isTrustedProxy(core::IpAddress::fromSockaddr(transport_.peerAddress().sockaddr_ptr()),
                      settings.client_limits.trusted_proxies)) {
    refuseProxyHeader(routing::ProxyRejectReason::kUntrusted, "peer not in trusted_proxies");
  }
  return 0;
}

// ---- The PROXY header ----

bool DownstreamConnection::awaitingProxyHeader() const {
  const ProxyPreamble* preamble = proxyPreamble();
  return preamble != nullptr && !preamble->done;
}

void DownstreamConnection::readProxyHeader(const char* data, size_t length) {
  ProxyPreamble& preamble = *proxyPreamble();
  // Usually the whole header comes in one read and is parsed where it lies; only a header in
  // pieces is copied (bounded: the parser decides within core::kMaxHeaderBytes).
  std::string held;
  std::string_view input(data, length);
  if (!preamble.partial.empty()) {
    preamble.partial.append(data, length);
    held.swap(preamble.partial);
    input = held;
  }
  const core::ProxyParse parse = core::parseProxyHeader(input);
  switch (parse.status) {
    case core::ProxyParse::Status::kNeedMore:
      if (held.empty()) {
        preamble.partial.assign(input);
      } else {
        preamble.partial.swap(held);
      }
      return;
    case core::ProxyParse::Status::kMissing:
      refuseProxyHeader(routing::ProxyRejectReason::kMissing, "no PROXY header");
      return;
    case core::ProxyParse::Status::kMalformed:
      refuseProxyHeader(routing::ProxyRejectReason::kMalformed, parse.error);
      return;
    case core::ProxyParse::Status::kDone:
      break;
  }
  preamble.done = true;
  if (parse.header.has_addresses) {
    preamble.client = parse.header.source;
    if (http1_.request != nullptr) http1_.request->client_ip.clear();
    // The proxy was exempt from max_connections_per_ip at accept; the client it names is not.
    if (worker_.clientLimits().admitClient(
            listenerSettings(), core::IpAddress::fromSockaddr(preamble.client->sockaddr_ptr()),
            &ticket_)) {
      close();  // as at accept: closed at once, counted in switchyard_limited_total
      return;
    }
  }
  const std::string_view rest = input.substr(parse.consumed);
  if (preamble.tls != nullptr) {
    const int rc = transport_.startTls(std::move(preamble.tls), rest, preamble.tls_stats);
    if (rc != 0) close();
    return;  // the handshake reads `rest`; requests come decrypted through onTransportData
  }
  if (!rest.empty()) handleInput(rest.data(), rest.size());
  // The loop flushes its write batch after each read, but `held` dies first.
  if (!held.empty()) worker_.loopContext().writeBatch().flush();
}

void DownstreamConnection::refuseProxyHeader(routing::ProxyRejectReason reason,
                                             std::string_view detail) {
  const routing::ListenerSettings& settings = listenerSettings();
  settings.limit_state->slot(worker_.index()).proxy_rejected[static_cast<size_t>(reason)].add();
  const char* name = routing::proxyRejectReasonName(reason);
  const std::optional<uint64_t> suppressed = worker_.proxyProtocolLog().admit(
      absl::StrCat(listener_id_, "/", name), uv_now(worker_.loop()));
  if (suppressed.has_value()) {
    core::logWarn("proxy_protocol_rejected", {{"worker", worker_.index()},
                                              {"listener", settings.name},
                                              {"peer", transport_.peerAddress().toString()},
                                              {"reason", name},
                                              {"error", std::string(detail)},
                                              {"suppressed_since_last", *suppressed}});
  }
  close();
}

// ---- Input from the client ----

void DownstreamConnection::onTransportData(const char* data, size_t length) {
  worker_.stats().bytes_in.add(length);
  if (awaitingProxyHeader()) {
    if (state_ == State::kIdle) readProxyHeader(data, length);
    return;
  }
  handleInput(data, length);
}

void DownstreamConnection::handleInput(const char* data, size_t length) {
  switch (state_) {
    case State::kHttp2:
      afterHttp2Step(h2().onInput(data, length));
      return;
    case State::kTunnel:
      if (http1_.session != nullptr) http1_.session->onClientTunnelData(data, length);
      return;
    case State::kLingering:
    case State::kClosed:
      return;  // the exchange is over; whatever the client still sends is dropped
    case State::kIdle:
    case State::kActive:
      break;
  }
  if (state_ == State::kIdle && !served_ && listenerSettings().http2 &&
      takeHttp2Preface(data, length)) {
    return;
  }
  if (deferred || (state_ == State::kActive && http1_.session != nullptr &&
                   http1_.session->requestComplete())) {
    // Pipelined requests (or tunnel bytes after an Upgrade) wait for the current response.
    bufferPipelinedInput(data, length);
    return;
  }
  parseInput(data, length);
}

bool DownstreamConnection::takeHttp2Preface(const char* data, size_t length) {
  // A preface in pieces waits in pending_input_ (empty before the first request otherwise).
  std::string joined;
  std::string_view input(data, length);
  if (hasPendingInput()) {
    joined.swap(*pending_input_);
    pending_input_.reset();
    joined.append(data, length);
    input = joined;
  }
  // After ALPN h2 the client has promised HTTP/2: nghttp2 checks the preface, and anything else
  // is a connection error (RFC 9113 §3.4), not an HTTP/1.1 request.
  const bool alpn_h2 = transport_.secure() && transport_.tlsDetails().alpn == "h2";
  const size_t compared = std::min(input.size(), kHttp2Preface.size());
  if (!alpn_h2 && input.substr(0, compared) != kHttp2Preface.substr(0, compared)) {
    if (joined.empty()) return false;
    parseInput(joined.data(), joined.size());
    worker_.loopContext().writeBatch().flush();  // the batch may point into `joined`
    return true;
  }
  if (!alpn_h2 && input.size() < kHttp2Preface.size()) {
    pending_input_ = std::make_unique<std::string>(input);
    return true;
  }
  switchToHttp2Memory();
  H2Connection* made = H2Connection::create(h2_memory_, worker_, *this);
  if (made == nullptr) {
    close();
    return true;
  }
  state_ = State::kHttp2;
  if (!made->start()) {
    close();
    return true;
  }
  H2Connection& h2_connection = *made;
  const bool ok = h2_connection.onInput(input.data(), input.size());  // nghttp2 checks the preface
  if (retired_) h2_connection.drain();  // the preface came after a reload retired the listener
  afterHttp2Step(ok);
  return true;
}

void DownstreamConnection::afterHttp2Step(bool ok) {
  if (state_ != State::kHttp2) return;
  H2Connection& connection = h2();  // awake from here on (one wake test per step)
  if (!ok || connection.finished()) {
    // Streams still running are cut; the GOAWAY (if any) is written before the FIN, and the
    // client's unread frames are drained so that the kernel does not answer them with a reset
    // that could destroy the GOAWAY in the client's buffer.
    connection.abort({});
    closeAfterResponse();
    return;
  }
  const routing::ListenerSettings& settings = listenerSettings();
  switch (connection.timerAfterStep()) {
    case H2Connection::Timer::kUnchanged:
      return;
    case H2Connection::Timer::kIdle:
      // No stream open: the keep-alive timeout, as between HTTP/1.1 requests.
      worker_.timeouts().schedule(this, settings.keepalive_timeout_ms);
      return;
    case H2Connection::Timer::kStall:
      worker_.timeouts().schedule(this, connection.limits().stall_timeout_ms);
      return;
    case H2Connection::Timer::kNone:
      worker_.timeouts().cancel(this);  // the exchanges' backend timeouts govern
      return;
  }
}

void DownstreamConnection::bufferPipelinedInput(const char* data, size_t length) {
  if (pending_input_ == nullptr) pending_input_ = std::make_unique<std::string>();
  pending_input_->append(data, length);
  if (pending_input_->size() > http::kMaxPipelinedBytes) pauseClientReading();
}

void DownstreamConnection::parseInput(const char* data, size_t length) {
  while (length > 0) {
    if (state_ == State::kIdle) {
      state_ = State::kActive;
      if (http1_.request == nullptr) {
        // Recycled per worker thread (core/thread_recycler.h): one per request.
        http1_.request.reset(new (core::ThreadRecycler<Request>::allocate()) Request(*this));
      }
      http1_.request->started_ns = uv_hrtime();  // the first byte: logs time refused requests too
      http1_.request->parser.setLimits(listenerSettings().limits);
      worker_.timeouts().schedule(this, listenerSettings().header_timeout_ms);
    }
    size_t consumed = 0;
    parsing_ = true;
    const http::Http1Parser::Result result =
        http1_.request->parser.execute(data, length, &consumed);
    parsing_ = false;
    if (state_ == State::kLingering || state_ == State::kClosed) return;
    if (result == http::Http1Parser::Result::kNeedMore) return;
    if (result == http::Http1Parser::Result::kError) {
      refuseRequest(http1_.request->parser.errorStatus(), http1_.request->parser.errorReason());
      return;
    }
    // The request is complete.
    data += consumed;
    length -= consumed;
    if (state_ == State::kActive && http1_.session != nullptr &&
        http1_.session->hasPendingLocalReply()) {
      // Answered here rather than from inside the parser, so that the request's size is known.
      http1_.session->sendPendingLocalReply();
      if (state_ == State::kLingering || state_ == State::kClosed) return;
    }
    if (state_ == State::kIdle) {
      // Answered already: go on with the next pipelined request (with a fresh parser when the
      // exchange freed this one).
      if (http1_.request != nullptr) http1_.request->parser.resume();
      continue;
    }
    if (length > 0) bufferPipelinedInput(data, length);
    return;
  }
  if (state_ == State::kIdle) http1_.request.reset();  // every byte was used: nothing to keep
}

void DownstreamConnection::runDeferred() {
  if (state_ == State::kHttp2) {
    afterHttp2Step(h2().flush());
    return;
  }
  if (state_ != State::kIdle || !hasPendingInput()) return;
  // Taken out first: parsing may buffer a new pipelined tail.
  std::unique_ptr<std::string> input = std::move(pending_input_);
  parseInput(input->data(), input->size());
  // The batch may point into `input`, which is reused or dies here.
  worker_.loopContext().writeBatch().flush();
  if (pending_input_ == nullptr && state_ == State::kActive) {
    // A pipelining client is likely to send more: keep the buffer for it (an idle connection
    // gives it back in exchangeFinished).
    input->clear();
    pending_input_ = std::move(input);
  }
}

http::ParserCallbacks::HeadAction DownstreamConnection::onHeadComplete() {
  core::WorkerStats& stats = worker_.stats();
  stats.requests.add();
  const http::Http1Parser& parser = http1_.request->parser;
  (parser.isHttp11OrLater() ? stats.requests_http11 : stats.requests_http10).add();
  if (parser.hasBody()) {
    worker_.timeouts().schedule(this, listenerSettings().client_timeout_ms);
  } else {
    worker_.timeouts().cancel(this);
  }
  http1_.session = std::make_unique<ProxySession>(worker_, *this, http1_.request->parser,
                                                  http1_.request->started_ns);
  http1_.session->start();  // may end the exchange (and free the session) before it returns
  return http::ParserCallbacks::kProceed;
}

void DownstreamConnection::onBody(const char* data, size_t length) {
  if (state_ != State::kActive || http1_.session == nullptr) return;
  http1_.session->onRequestBody(data, length);
}

void DownstreamConnection::onMessageComplete() {
  if (state_ != State::kActive || http1_.session == nullptr) return;
  worker_.timeouts().cancel(this);  // from now on the backend is the one we wait for
  http1_.session->onRequestComplete();
}

void DownstreamConnection::refuseRequest(int status, std::string_view detail) {
  if (http1_.session == nullptr) {
    http1_.session = std::make_unique<ProxySession>(worker_, *this, http1_.request->parser,
                                                    http1_.request->started_ns);
  }
  http1_.session->disableKeepAlive();
  http1_.session->respondLocally(status, detail);
}

// ---- ExchangeOwner: what the session asks of the connection ----

void DownstreamConnection::writeToClient(const char* data, size_t length) {
  worker_.stats().bytes_out.add(length);
  worker_.loopContext().writeBatch().add(&transport_, data, length);
}

void DownstreamConnection::writeToClientCopy(const char* data, size_t length) {
  worker_.stats().bytes_out.add(length);
  worker_.loopContext().writeBatch().addCopy(&transport_, data, length);
}

void DownstreamConnection::flushClientWrites() { worker_.loopContext().writeBatch().flush(); }

bool DownstreamConnection::withdrawUnsentResponse(uint64_t response_bytes) {
  core::WriteBatch& batch = worker_.loopContext().writeBatch();
  // Every byte of this response still waits in the loop's batch (it is flushed after each read)
  // and none went to the socket: it can be taken back.
  if (response_bytes == 0 || batch.pendingFor(&transport_) != response_bytes ||
      transport_.pendingWriteBytes() != response_bytes) {
    return false;
  }
  batch.forget(&transport_);
  return true;
}

void DownstreamConnection::pauseClientReading() {
  client_paused_ = true;
  transport_.stopReading();
}

void DownstreamConnection::resumeClientReading() {
  if (!client_paused_ && transport_.isReading()) return;
  if (hasPendingInput() && pending_input_->size() > http::kMaxPipelinedBytes) return;
  client_paused_ = false;
  if (state_ == State::kClosed) return;
  const int rc = transport_.startReading();
  if (rc != 0) close();
}

void DownstreamConnection::scheduleClientTimeout() {
  worker_.timeouts().schedule(this, listenerSettings().client_timeout_ms);
}

void DownstreamConnection::cancelClientTimeout() { worker_.timeouts().cancel(this); }

void DownstreamConnection::enterTunnel(std::string* pending) {
  state_ = State::kTunnel;
  worker_.timeouts().cancel(this);  // the backend connection's idle timeout governs tunnels
  if (pending_input_ != nullptr) {
    pending->swap(*pending_input_);
    pending_input_.reset();
  }
}

void DownstreamConnection::onTransportWritable() {
  if (state_ == State::kHttp2) {
    afterHttp2Step(h2().onWritable());
    return;
  }
  if (!speaks_h2_ && http1_.session != nullptr) http1_.session->onClientWritable();
}

// ---- Ending exchanges and connections ----

void DownstreamConnection::exchangeFinished() {
  served_ = true;
  const bool keep = http1_.session->keepAlive() && !client_eof_ && !worker_.draining() && !retired_;
  const bool whole_request_read = http1_.session->requestComplete();
  const bool client_closes = http1_.session->clientCloses();
  http1_.session.reset();
  served_ = true;
  if (!keep) {
    if (client_closes && whole_request_read && !hasPendingInput() &&
        transport_.pendingWriteBytes() == 0) {
      // The client announced its last request, so it sends nothing more (RFC 9112 9.6) and the
      // whole response is in the kernel: a plain close delivers it, as nginx does. Lingering
      // (shutdown, wait for the client's FIN) is for closes the client did not ask for.
      state_ = State::kLingering;
      transport_.closeCleanly();  // over TLS, close_notify first
      close();
      return;
    }
    closeAfterResponse();
    return;
  }
  state_ = State::kIdle;
  if (parsing_) {
    http1_.request->parser.releaseHead();  // parseInput resumes it, frees it once the input is used
  } else {
    http1_.request
        .reset();  // an idle connection holds no parser: the next request gets a fresh one
  }
  worker_.timeouts().schedule(this, listenerSettings().keepalive_timeout_ms);
  resumeClientReading();
  if (hasPendingInput()) {
    worker_.defer(this);
  } else {
    pending_input_.reset();  // an idle connection holds no buffer
  }
}

void DownstreamConnection::closeAfterResponse() {
  state_ = State::kLingering;
  pending_input_.reset();
  worker_.timeouts().schedule(this, http::kLingerMs);
  client_paused_ = false;
  // Reads (and drops) until the client closes; a client that has already closed has nothing
  // left to drain.
  if (http::startLingeringClose(transport_, client_eof_) != 0 || client_eof_) close();
}

void DownstreamConnection::close(std::string_view cut_by) {
  if (state_ == State::kClosed) return;
  // An exchange cut short still counts.
  if ((state_ == State::kActive || state_ == State::kTunnel) && http1_.session != nullptr) {
    http1_.session->recordCutShort(cut_by);
  }
  // Every stream still running is cut; the H2Connection lives until the connection is freed (this
  // may run inside its call).
  if (state_ == State::kHttp2) h2().abort(cut_by);
  state_ = State::kClosed;
  if (!speaks_h2_)
    http1_.session.reset();  // gives back the backend, the upstream connection and the snapshot
  worker_.timeouts().cancel(this);
  if (deferred) worker_.cancelDeferred(this);
  transport_.close();
}

void DownstreamConnection::drain() {
  if (speaks_h2_) {
    // GOAWAY; streams in flight finish, then the connection closes. (Lingering or closed: done.)
    if (state_ == State::kHttp2) h2().drain();
    return;
  }
  if (state_ == State::kIdle && served_) {
    close();
  } else if (state_ == State::kIdle) {
    // Accepted, first request not read yet: the client sent it or is about to, unaware that
    // this process stops (a hot upgrade, or a stop while the listener still had a backlog).
    // Closing now would reset it; it is answered with Connection: close (the worker drains),
    // and the header timeout bounds a client that sends nothing.
  } else if (http1_.session != nullptr) {
    // The current response says Connection: close, then we close. (A request whose head is
    // not complete yet sees the worker draining when it is.)
    http1_.session->disableKeepAlive();
  }
}

void DownstreamConnection::retire() {
  if (retired_) return;
  retired_ = true;
  // As drain(), with keepAliveWithdrawn() where drain() has the worker's draining().
  drain();
}

void DownstreamConnection::forceClose(std::string_view reason) { close(reason); }

void DownstreamConnection::onTransportEof() {
  client_eof_ = true;
  if (awaitingProxyHeader() && state_ == State::kIdle && !proxyPreamble()->partial.empty()) {
    refuseProxyHeader(routing::ProxyRejectReason::kClosed, "closed in the middle of the header");
    return;
  }
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
    case State::kHttp2:  // an HTTP/2 client that closes has left, streams and all
      close();
      return;
    case State::kTunnel:
      if (http1_.session == nullptr || http1_.session->onClientTunnelEof()) close();
      return;
    case State::kActive:
      if (http1_.session == nullptr || !http1_.session->requestComplete()) {
        close();  // the client gave up before finishing its request
      } else if (!http1_.session->responseStarted() && listenerSettings().abort_on_client_close) {
        // Nobody will read the answer: free the backend now (a drain waits for it) and log 499,
        // as nginx does. A half-close (`printf ... | nc`) looks the same; such clients need
        // abort_on_client_close = false.
        close();
      } else {
        // A half-close: the client may still read, so it gets its response (HAProxy's default);
        // a client that is really gone shows up as a reset when we write, and is logged as 499.
        http1_.session->disableKeepAlive();
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
  if (awaitingProxyHeader() && state_ == State::kIdle) {
    refuseProxyHeader(routing::ProxyRejectReason::kTimeout, "no complete header in time");
    return;
  }
  switch (state_) {
    case State::kHttp2:
      // No stream open for keepalive_timeout, or response data that did not move for
      // http2_stall_timeout (a client that keeps its window closed, or does not read).
      if (h2().stalled()) worker_.stats().http2Defence(core::Http2Defence::kStallTimeout).add();
      close();
      return;
    case State::kIdle:
    case State::kLingering:
      transport_.handshakeTimedOut();  // counted when the TLS handshake never finished
      close();  // keep-alive expired, nothing ever arrived, or the client never closed
      return;
    case State::kActive: {
      const bool response_started = http1_.session != nullptr && http1_.session->responseStarted();
      const bool request_complete = http1_.session != nullptr && http1_.session->requestComplete();
      const bool head_complete = http1_.request->parser.headComplete();
      if (!response_started && (!head_complete || !request_complete)) {
        refuseRequest(408, head_complete ? "request body timeout" : "request header timeout");
        return;
      }
      close();  // the client stopped reading the response
      return;
    }
    case State::kTunnel:
    case State::kClosed:
      return;
  }
}

}  // namespace sy::proxy
