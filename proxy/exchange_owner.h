#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/net_address.h"
#include "routing/snapshot.h"
#include "tls/tls_details.h"

namespace sy::http {
class Http1Parser;
struct DownstreamResponseOptions;
}  // namespace sy::http

namespace sy::proxy {

// What one exchange (proxy/proxy_session.h) needs from the client connection that carries it.
// The exchange routes and forwards; the connection owns the socket, the parser, keep-alive and
// the timeouts. HTTP/1.1 carries one exchange at a time; an HTTP/2 codec would own many and map
// each call to its stream. Worker thread only.
class ExchangeOwner {
 public:
  // ---- The client ----
  virtual uint32_t listenerId() const = 0;
  // The listener's settings in the worker's current snapshot.
  virtual const routing::ListenerSettings& listenerSettings() const = 0;
  virtual core::NetAddress peerAddress() const = 0;
  virtual const std::string& clientIp() = 0;
  // The client closed its sending side (or is gone).
  virtual bool clientEof() const = 0;
  // The client connection is TLS: its details for the access log (version, cipher, ALPN, SNI).
  virtual bool clientSecure() const = 0;
  virtual std::optional<tls::TlsDetails> clientTlsDetails() const = 0;
  // The request came over HTTP/2 (proxy/h2_stream.h): its head was rebuilt as HTTP/1.1 for the
  // exchange, so the access log asks here for the protocol the client spoke.
  virtual bool clientHttp2() const { return false; }
  // Keep-alive ends with this exchange although the worker does not drain: a reload removed or
  // changed the listener the connection was accepted on (Worker::adopt). Its response says
  // Connection: close.
  virtual bool keepAliveWithdrawn() const { return false; }

  // ---- Response bytes, through the loop's write batch ----
  // `data` must stay valid until the batch is flushed (after the current callback, or by
  // flushClientWrites()); the Copy variant copies.
  virtual void writeToClient(const char* data, size_t length) = 0;
  virtual void writeToClientCopy(const char* data, size_t length) = 0;
  virtual void flushClientWrites() = 0;
  virtual bool clientAboveHighWatermark() const = 0;
  // Takes back the exchange's `response_bytes` if every one of them still waits in the batch
  // (none reached the socket); false otherwise, and then nothing is taken back.
  virtual bool withdrawUnsentResponse(uint64_t response_bytes) = 0;
  // Sends FIN once everything queued is written (tunnels).
  virtual void shutdownClientWrite() = 0;

  // ---- Responses as fields (HTTP/2) ----
  // True when the client's protocol frames responses itself (HTTP/2, proxy/h2_stream.h): the
  // head of a backend's final response then comes through sendResponseHead instead of as
  // HTTP/1.1 text, its body through writeToClient as plain bytes (no chunk framing), and its
  // end with exchangeFinished; a backend's interim (1xx) responses come through
  // sendInterimResponse. Local replies (and the proxy's own 100 Continue) and a 101 still come
  // as HTTP/1.1 text. Saves building a head as text for the owner to parse again.
  virtual bool takesResponseFields() const { return false; }
  // The head for the client: the backend's `response` shaped by `options`
  // (http::forEachDownstreamResponseField). Returns the bytes to count for it (the access
  // log's bytes_out): what the same head would take as HTTP/1.1.
  virtual uint64_t sendResponseHead(const http::Http1Parser& /*response*/,
                                    const http::DownstreamResponseOptions& /*options*/) {
    return 0;
  }
  // An interim response of the backend (1xx other than 101, before the final head), shaped by
  // `options` (interim: the route's edits do not apply). Returns the bytes to count for it, as
  // sendResponseHead does; 0 when it was not sent.
  virtual uint64_t sendInterimResponse(const http::Http1Parser& /*response*/,
                                       const http::DownstreamResponseOptions& /*options*/) {
    return 0;
  }

  // ---- Reading the request ----
  // Backpressure: the backend does not take the body as fast as the client sends it.
  virtual void pauseClientReading() = 0;
  virtual bool clientReadingPaused() const = 0;
  // Holds the body while the backend connection is being established (without marking the
  // client paused for backpressure).
  virtual void holdClientReading() = 0;
  virtual void resumeClientReading() = 0;
  // The listener's client_timeout, while the client must send or read.
  virtual void scheduleClientTimeout() = 0;
  virtual void cancelClientTimeout() = 0;

  // ---- The exchange's end ----
  // 101 Switching Protocols: the connection becomes a tunnel. Bytes the client sent after the
  // request are moved into `pending` (for the backend).
  virtual void enterTunnel(std::string* pending) = 0;
  // The exchange is complete and recorded. The owner destroys it before returning: the caller
  // returns at once.
  virtual void exchangeFinished() = 0;
  // Closes the client connection now, destroying the exchange before returning: the caller
  // returns at once.
  virtual void closeConnection() = 0;

 protected:
  ~ExchangeOwner() = default;
};

}  // namespace sy::proxy
