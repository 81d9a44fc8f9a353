#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/intrusive_list.h"
#include "core/thread_recycler.h"
#include "core/timeout_queue.h"
#include "http/http1_parser.h"
#include "proxy/client_limits.h"
#include "proxy/exchange_owner.h"
#include "proxy/h2_connection.h"
#include "proxy/proxy_session.h"
#include "routing/snapshot.h"
#include "tls/stream_transport.h"

namespace sy::proxy {

class Worker;

// One client connection (HTTP/1.1): the socket, the request parser, keep-alive, pipelining
// (later requests wait for the current response), lingering close and the client timeouts.
// Each request whose head is complete gets a ProxySession (proxy/proxy_session.h) that routes,
// forwards and answers it; this class serves as its ExchangeOwner and destroys it when the
// exchange ends. An idle keep-alive connection holds no session, no parser and no buffers.
//
// On a proxy_protocol listener the connection first reads a PROXY header (v1 or v2) from a
// trusted proxy; its source address is the client for the connection's life (limits, the
// forwarded headers, the access log). TLS, if any, starts after the header.
//
// Lifetime: created by the listener, freed only from the transport's close callback, so any
// callback may decide to close.
class DownstreamConnection final : public core::TransportCallbacks,
                                   public ExchangeOwner,
                                   public core::TimeoutEntry,
                                   public core::ListLinks<DownstreamConnection> {
 public:
  DownstreamConnection(Worker& worker, uint32_t listener_id);
  ~DownstreamConnection();

  // Starts serving a socket the listener accepted. On error the object frees itself (and the
  // socket is closed).
  int accept(int fd);

  // What the listener's limits counted for this connection, given back when it is freed.
  void holdTicket(ConnectionTicket ticket) { ticket_ = std::move(ticket); }

  // Graceful shutdown (SIGTERM, hot upgrade): an idle keep-alive connection closes now, a busy
  // one after the current response. A connection that has not sent its first request yet stays:
  // its request is on its way (closing would reset it) and is answered with Connection: close;
  // the header timeout bounds a client that sends nothing.
  void drain();
  // A reload removed or changed the listener this connection was accepted on: drain() for this
  // connection alone. HTTP/2 gets GOAWAY (streams begun finish); HTTP/1.1 closes when idle, or
  // after the response in progress, which says Connection: close.
  void retire();
  bool acceptedOn(uint32_t listener_id) const { return listener_id_ == listener_id; }
  // Close now, whatever is in flight; a request cut this way is logged with `reason`.
  void forceClose(std::string_view reason);
  // Continues with pipelined requests (scheduled by Worker::defer).
  void runDeferred();

 private:
  enum class State : uint8_t {
    kIdle,       // between requests (keep-alive) or before the first one
    kActive,     // a request is being read, forwarded or answered
    kTunnel,     // after 101 Switching Protocols: raw bytes both ways
    kHttp2,      // the client spoke HTTP/2 (h2c preface, or ALPN h2): h2() has the streams
    kLingering,  // response sent, FIN sent, waiting briefly for the client to go
    kClosed,
  };

  // core::TransportCallbacks
  void onTransportData(const char* data, size_t length) override;
  void onTransportEof() override;
  void onTransportError(int uv_status) override;
  void onTransportWritable() override;
  void onTransportClosed() override;
  // The request parser's callbacks (through Request, which is the parser's ParserCallbacks).
  http::ParserCallbacks::HeadAction onHeadComplete();
  void onBody(const char* data, size_t length);
  void onMessageComplete();
  // ExchangeOwner
  uint32_t listenerId() const override { return listener_id_; }
  const routing::ListenerSettings& listenerSettings() const override;
  // The client: the socket's peer, or the source a PROXY header named.
  core::NetAddress peerAddress() const override;
  const std::string& clientIp() override;
  bool clientEof() const override { return client_eof_; }
  bool clientSecure() const override { return transport_.secure(); }
  std::optional<tls::TlsDetails> clientTlsDetails() const override {
    if (!transport_.secure()) return std::nullopt;
    return transport_.tlsDetails();
  }
  bool keepAliveWithdrawn() const override { return retired_; }
  void writeToClient(const char* data, size_t length) override;
  void writeToClientCopy(const char* data, size_t length) override;
  void flushClientWrites() override;
  bool clientAboveHighWatermark() const override { return transport_.aboveHighWatermark(); }
  bool withdrawUnsentResponse(uint64_t response_bytes) override;
  void shutdownClientWrite() override { transport_.shutdownWrite(); }
  void pauseClientReading() override;
  bool clientReadingPaused() const override { return client_paused_; }
  void holdClientReading() override { transport_.stopReading(); }
  void resumeClientReading() override;
  void scheduleClientTimeout() override;
  void cancelClientTimeout() override;
  void enterTunnel(std::string* pending) override;
  void exchangeFinished() override;
  void closeConnection() override { close(); }
  // core::TimeoutEntry
  void onTimeout() override;

  void handleInput(const char* data, size_t length);
  // On an http2 listener, before the first request: true when the bytes were taken, as the
  // HTTP/2 client preface (the connection turns into HTTP/2) or as the start of one (held
  // until the rest tells). False: HTTP/1.1, parse them as usual.
  bool takeHttp2Preface(const char* data, size_t length);
  // After each HTTP/2 step: closes a connection that is finished, keeps the idle timeout.
  void afterHttp2Step(bool ok);
  // PROXY protocol listeners: the header before anything else.
  void readProxyHeader(const char* data, size_t length);
  // Closes a connection whose header was refused, without a reply; counted and logged.
  void refuseProxyHeader(routing::ProxyRejectReason reason, std::string_view detail);
  bool awaitingProxyHeader() const;
  void parseInput(const char* data, size_t length);
  void bufferPipelinedInput(const char* data, size_t length);
  // A request refused before or while it was read (400, 408, ...): answered by the request's
  // session, created for it when its head was not complete yet.
  void refuseRequest(int status, std::string_view detail);
  void closeAfterResponse();
  void close(std::string_view cut_by = {});

  bool hasPendingInput() const { return pending_input_ != nullptr && !pending_input_->empty(); }

  // proxy_protocol listeners: the header's state and the client it named.
  struct ProxyPreamble;
  ProxyPreamble* proxyPreamble() const { return proxy_.get(); }
  // The HTTP/2 connection, woken first if it was hibernated (its object sleeps in its slot).
  H2Connection& h2();
  // Where the HTTP/2 connection lives (it, its session and their image when hibernated); only
  // once the connection speaks HTTP/2 (speaks_h2_).
  friend class H2Connection;
  H2SessionMemory& h2Memory() { return h2_memory_; }
  // The HTTP/1.1 exchange's part gives way to the H2SessionMemory (before the preface's first
  // HTTP/2 step; no request or exchange exists then).
  void switchToHttp2Memory();
  // The client IP as text (peerAddress()'s host), formatted from the limits ticket's address.
  std::string formatClientIp() const;

  // Members are ordered so that the small ones share one word: every byte here is paid by every
  // idle connection (connection_footprint_test.cc).
  Worker& worker_;
  tls::StreamTransport transport_;  // TCP, or TLS over it on a TLS listener
  // The request in flight, from its first byte until the connection is idle again (an idle
  // keep-alive connection holds none): the parser and what else only a request needs.
  struct Request;
  struct Http1Exchange {
    std::unique_ptr<Request, core::RecycledDelete<Request>> request;
    // The exchange in progress; null between requests.
    std::unique_ptr<ProxySession> session;
  };
  // HTTP/1.1 (speaks_h2_ false): the request and exchange in flight. HTTP/2 (true): the
  // connection's H2SessionMemory, the two pointers a hibernated connection keeps besides its
  // image (neither HTTP/1.1 part is ever used once the client speaks HTTP/2). Constructed and
  // destroyed by hand (switchToHttp2Memory, the destructor).
  union {
    Http1Exchange http1_{};
    H2SessionMemory h2_memory_;
  };
  // Bytes the client sent after the current request (pipelining, or tunnel data after Upgrade);
  // allocated when there are some (an idle connection holds none).
  std::unique_ptr<std::string> pending_input_;
  // Set on a proxy_protocol listener (an ordinary connection pays one pointer).
  std::unique_ptr<ProxyPreamble> proxy_;
  ConnectionTicket ticket_;
  const uint32_t listener_id_;  // routing::ListenerSettings::id
  State state_ = State::kIdle;
  // One byte of flags (with the id and the state, one word).
  bool client_paused_ : 1 = false;  // client reads paused for upstream backpressure
  bool parsing_ : 1 = false;        // inside the parser's execute()
  bool client_eof_ : 1 = false;
  bool served_ : 1 = false;     // an exchange finished: idle now means between requests
  bool retired_ : 1 = false;    // retire(): no keep-alive, HTTP/2 ends with GOAWAY
  bool speaks_h2_ : 1 = false;  // h2_memory_ rather than http1_ (to the end, closed or not)

 public:
  // Set while on the worker's deferred list (Worker::defer).
  bool deferred : 1 = false;
};

}  // namespace sy::proxy
