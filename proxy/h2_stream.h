#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/timeout_queue.h"
#include "http/http1_parser.h"
#include "proxy/exchange_owner.h"
#include "proxy/proxy_session.h"

namespace sy::proxy {

class H2Connection;

// One HTTP/2 request stream, carried to the backend by an ordinary exchange (ProxySession).
// The stream is the exchange's ExchangeOwner: the request's header list goes field by field
// into an Http1Parser in request mode (Http1Parser::addField: the HTTP/1.1 head is never
// written out, the text path's limits and head rules apply), and the DATA frames' bytes become
// the request body as they are (Http1Parser::addBody), as the exchange expects. A proxied response
// comes as fields (takesResponseFields: the backend's parsed head, shaped as for HTTP/1.1,
// becomes :status and the fields at once) and plain body bytes, ended by exchangeFinished;
// the exchange's own answers (local replies) come as HTTP/1.1 text, parsed here (response mode)
// into :status, fields and DATA (connection-specific fields dropped). Either way nghttp2 sends
// the body through a data source.
//
// Interim responses (1xx: the backend's 103 Early Hints, the proxy's own 100 Continue) go out
// before the final one, each as a HEADERS frame without END_STREAM (RFC 9113 §8.1); a 101 never
// does (HTTP/2 has no Upgrade, §8.6). Trailers are not forwarded, as on HTTP/1.1.
//
// Backpressure: request DATA is given back to the client's flow-control window
// (nghttp2_session_consume) only when the exchange took it, so a paused exchange stops its
// stream and not the connection; response bytes wait here, and the exchange stops reading its
// backend while more than kHighWatermark of them wait.
//
// Lifetime: created by H2Connection when a request's HEADERS begin, destroyed when nghttp2
// closes the stream (or the connection closes). The exchange ends first: its calls that end it
// (exchangeFinished, closeConnection) destroy only the exchange.
class H2Stream final : public ExchangeOwner {
 public:
  static constexpr size_t kHighWatermark = 64 * 1024;
  static constexpr size_t kLowWatermark = 16 * 1024;

  H2Stream(H2Connection& connection, int32_t id);
  ~H2Stream();
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;
  // One stream per request, larger than glibc's per-thread cache takes: the memory is recycled
  // per worker thread (core/thread_recycler.h), as ProxySession's.
  static void* operator new(size_t size);
  static void operator delete(void* block);

  int32_t id() const { return id_; }
  // A field of the request's header list. Past `max_list_bytes` (RFC 9113 §6.5.2's size: name,
  // value and 32 per field) fields are dropped and the request is answered 431 when its header
  // list ends.
  void addRequestField(std::string_view name, std::string_view value, uint32_t max_list_bytes);

  // ---- From the connection (never from inside the exchange) ----
  // The request's header list is complete: judge it and start the exchange.
  void startRequest(bool end_stream);
  // Request body bytes of a DATA frame.
  void onRequestData(const char* data, size_t length);
  // END_STREAM from the client.
  void onRequestEnd();
  // Body bytes held while the exchange paused reading go on once it resumed.
  bool hasHeldInput() const;
  void deliverHeldInput();
  // nghttp2's data source for the response body.
  ssize_t readResponse(uint8_t* buffer, size_t length, uint32_t* data_flags);
  // The response backlog fell below the low watermark, or the socket can take more.
  bool wantsWritable() const { return notify_writable_; }
  // Response DATA waits to be framed (for the stall timeout).
  bool responseDataWaiting() const { return response_submitted_ && pendingResponseBytes() > 0; }
  void notifyWritable();
  // The stream closed (`error_code` from RST_STREAM or the connection's end) or the connection
  // closes: an exchange still running is recorded as cut short and ended.
  void cut(uint32_t error_code, std::string_view cut_by = {});
  // The listener's client_timeout for this stream (also ExchangeOwner::scheduleClientTimeout):
  // the client must send more of the request, or read more of the response, before it runs
  // out. The connection arms it while a request body is on its way, again as the body moves,
  // and stops it at the request's END_STREAM (as HTTP/1.1 does at the request's end).
  void armClientTimeout();
  void stopClientTimeout();
  bool clientTimeoutArmed() const { return client_timeout_.scheduled(); }

 private:
  // The stream's entry in the worker's timeout queue: no handle of its own, it leaves the
  // queue when the stream is destroyed.
  class ClientTimeout final : public core::TimeoutEntry {
   public:
    explicit ClientTimeout(H2Stream& stream) : stream_(stream) {}
    ~ClientTimeout() override;
    ClientTimeout(const ClientTimeout&) = delete;
    ClientTimeout& operator=(const ClientTimeout&) = delete;

   private:
    void onTimeout() override { stream_.onClientTimeout(); }
    H2Stream& stream_;
  };

  // Parser events of the request (what the exchange hears) and of the response.
  struct RequestEvents final : http::ParserCallbacks {
    explicit RequestEvents(H2Stream& s) : stream(s) {}
    HeadAction onHeadComplete() override;
    void onBody(const char* data, size_t length) override;
    void onMessageComplete() override;
    H2Stream& stream;
  };
  struct ResponseEvents final : http::ParserCallbacks {
    explicit ResponseEvents(H2Stream& s) : stream(s) {}
    HeadAction onHeadComplete() override;
    void onBody(const char* data, size_t length) override;
    void onMessageComplete() override;
    H2Stream& stream;
  };

  // ExchangeOwner
  uint32_t listenerId() const override;
  const routing::ListenerSettings& listenerSettings() const override;
  core::NetAddress peerAddress() const override;
  const std::string& clientIp() override;
  bool clientEof() const override { return client_gone_; }
  bool clientSecure() const override;
  std::optional<tls::TlsDetails> clientTlsDetails() const override;
  bool clientHttp2() const override { return true; }
  bool takesResponseFields() const override { return true; }
  uint64_t sendResponseHead(const http::Http1Parser& response,
                            const http::DownstreamResponseOptions& options) override;
  uint64_t sendInterimResponse(const http::Http1Parser& response,
                               const http::DownstreamResponseOptions& options) override;
  void writeToClient(const char* data, size_t length) override;
  void writeToClientCopy(const char* data, size_t length) override {
    writeToClient(data, length);  // parsed at once: nothing is kept
  }
  void flushClientWrites() override;
  bool clientAboveHighWatermark() const override;
  // Response bytes become frames at once; nothing can be taken back.
  bool withdrawUnsentResponse(uint64_t /*response_bytes*/) override { return false; }
  void shutdownClientWrite() override {}
  void pauseClientReading() override { paused_ = true; }
  bool clientReadingPaused() const override { return paused_; }
  void holdClientReading() override { held_ = true; }
  void resumeClientReading() override;
  // Per stream: the connection's idle timeout covers a connection without streams, the
  // backend's timeouts an exchange waiting for its backend.
  void scheduleClientTimeout() override { armClientTimeout(); }
  void cancelClientTimeout() override { stopClientTimeout(); }
  void enterTunnel(std::string* pending) override;
  void exchangeFinished() override;
  void closeConnection() override;

  // After the request parser took input: a refused head is answered, a completed request
  // with a local answer gets it.
  void afterRequestInput(http::Http1Parser::Result result);
  // Request DATA to the exchange; its bytes go back to the client's window.
  void deliverRequestData(const char* data, size_t length);
  void deliverRequestEnd();
  // The loop's write batch may hold pointers into request bytes this class kept (held input):
  // it is flushed before they die.
  void flushBatch();
  // The client_timeout ran out: as on HTTP/1.1, a request whose body stalled is answered 408;
  // a response the client stopped reading ends with RST_STREAM.
  void onClientTimeout();
  void timeOut();
  // A request refused before its exchange could start (400, 431, ...).
  void refuseRequest(int status, std::string_view detail);
  // Ends the stream with RST_STREAM.
  void reset(uint32_t error_code);
  // The head parsed from the exchange's text (local replies, the proxy's 100 Continue).
  void submitParsedResponseHead();
  // :status and `fields` (lowercase names) to nghttp2, with the body's data source.
  bool submitResponse(int status, nghttp2_nv* fields, size_t count);
  // An interim response may still go out: a 1xx other than 101, before the final head.
  bool interimAllowed(int status) const;
  // :status `status` (1xx) and `fields` to nghttp2 as a HEADERS frame without END_STREAM.
  bool submitInterim(int status, nghttp2_nv* fields, size_t count);
  // Response body bytes for nghttp2's data source.
  void appendResponseBody(const char* data, size_t length);
  // nghttp2 waits for body bytes (or the end) that came: it reads again.
  void resumeResponseData();
  size_t pendingResponseBytes() const { return response_body_.size() - response_sent_; }

  H2Connection& connection_;
  const int32_t id_;
  uint64_t header_list_bytes_ = 0;
  RequestEvents request_events_{*this};
  ResponseEvents response_events_{*this};
  http::Http1Parser request_;
  std::unique_ptr<http::Http1Parser> response_;
  std::unique_ptr<ProxySession> session_;
  uint64_t started_ns_;
  // Request DATA held while the exchange paused reading; its bytes are consumed (flow control)
  // when delivered.
  std::string held_input_;
  // Response body bytes not yet taken by nghttp2; response_sent_ of them were.
  std::string response_body_;
  size_t response_sent_ = 0;
  bool request_ended_ = false;  // END_STREAM seen
  bool end_held_ = false;       // END_STREAM came while input was held
  bool paused_ = false;
  bool held_ = false;
  bool client_gone_ = false;
  bool response_submitted_ = false;
  bool response_fields_ = false;  // the head came through sendResponseHead: the body is plain
  bool response_complete_ = false;
  bool response_deferred_ = false;  // nghttp2 waits for resume_data
  bool notify_writable_ = false;
  bool was_above_watermark_ = false;
  bool reset_sent_ = false;
  bool header_list_too_large_ = false;
  bool refused_ = false;  // answered locally before its exchange could start: input is dropped
  ClientTimeout client_timeout_{*this};
};

}  // namespace sy::proxy
