#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/net_address.h"
#include "core/tcp_transport.h"
#include "core/transport.h"
#include "core/uv_handle.h"
#include "tls/client_context.h"
#include "tls/client_session_slot.h"
#include "tls/handshake_stats.h"
#include "tls/server_context.h"
#include "tls/tls_details.h"

namespace sy::tls {

// A connection's byte stream: plain TCP, or TLS over TCP: as the server on a listener with a
// ServerContext, as the client to a pool's backends with a ClientContext. The HTTP codec above
// sees the same Transport either way.
//
// TLS runs over a BIO of our own that reads straight from the bytes libuv delivered and writes
// records into one per-thread staging buffer that is handed to the TCP transport after each
// OpenSSL call. Neither side keeps a buffer of its own, so with SSL_MODE_RELEASE_BUFFERS an idle
// TLS connection holds no buffers at all (memory BIOs would keep their largest read).
class StreamTransport final : public core::Transport {
 public:
  explicit StreamTransport(uv_loop_t* loop);
  ~StreamTransport() override;
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  // Takes over an accepted socket; with a context the connection speaks TLS, and keeps that
  // context (a reload does not affect it). The handshake's outcome is counted in `stats` (the
  // worker's slot of the listener's figures) when given. Returns a libuv error code.
  int adopt(int fd, std::shared_ptr<const ServerContext> context,
            HandshakeWorkerStats* stats = nullptr);
  // The same for a connection pending on a libuv listener (the admin API's).
  int accept(uv_stream_t* server, std::shared_ptr<const ServerContext> context);
  // A PROXY protocol listener reads the header in the clear, before the ClientHello: the socket
  // is adopted without a context, then this turns it into the server side of TLS. `initial` is
  // what the owner read after the header (the start of the ClientHello, often), fed to the
  // handshake first. Call it from the owner's onTransportData; the handshake may fail (and the
  // owner hear onTransportError) before it returns. Returns a libuv error code.
  int startTls(std::shared_ptr<const ServerContext> context, std::string_view initial,
               HandshakeWorkerStats* stats = nullptr);
  // Connects to a backend; with a context, onTransportConnected() comes once the TLS handshake
  // is done (the connect timeout covers both), and a failed handshake (a certificate that does
  // not verify) is an onTransportError() before it, logged with the reason. Writes made before
  // are sent after the handshake. Returns a libuv error code.
  // `sessions` (optional, must outlive the connection): the backend's last session is offered
  // from there, and the sessions this connection receives are kept there.
  // A failed handshake is logged as upstream_tls_handshake_failed unless `failure_log` is
  // kQuiet: a health check reports handshakeError() in its result instead (one line per check
  // interval would flood the log while a backend stays down).
  enum class FailureLog : uint8_t { kWarn, kQuiet };
  int connect(const core::NetAddress& address, std::shared_ptr<const ClientContext> context,
              ClientSessionSlot* sessions = nullptr, FailureLog failure_log = FailureLog::kWarn);
  // The handshake resumed a session (an abbreviated handshake).
  bool sessionResumed() const {
    return tls_ != nullptr && tls_->handshake_done && SSL_session_reused(tls_->ssl) == 1;
  }
  // Why the TLS handshake failed (the certificate verification error when there is one);
  // empty if it did not fail.
  std::string handshakeError() const { return tls_ != nullptr ? tls_->handshake_error : ""; }
  core::NetAddress peerAddress() const { return tcp_.peerAddress(); }
  bool secure() const { return tls_ != nullptr; }
  // Valid once the first request arrived (the handshake is over by then).
  TlsDetails tlsDetails() const;
  // The owner's header_timeout expired: a server handshake still going on counts as a timeout.
  void handshakeTimedOut();

  void setCallbacks(core::TransportCallbacks* callbacks) override;
  int startReading() override;
  void stopReading() override;
  bool isReading() const override;
  void write(const uv_buf_t* buffers, size_t count) override;
  using Transport::write;
  size_t pendingWriteBytes() const override;
  void shutdownWrite() override;
  void closeCleanly() override;
  void close() override;
  void abort() override;
  bool isClosing() const override { return tcp_.isClosing(); }

 private:
  friend struct TransportBio;

  // What the TCP transport reports, through TlsState (TLS connections only).
  void onTransportData(const char* data, size_t length);
  void onTransportEof();
  void onTransportError(int uv_status);
  void onTransportWritable();
  void onTransportClosed();
  void onTransportConnected();

  int attachServerSsl(std::shared_ptr<const ServerContext> context, HandshakeWorkerStats* stats);
  // Counts the outcome of a server handshake, once (no-op without stats).
  void countHandshake(HandshakeResult result);
  // Why a server handshake failed, from OpenSSL's error queue (before it is cleared).
  HandshakeResult failureReason(bool plain_http) const;
  // Runs the handshake and decrypts while input is there and the owner reads.
  void pump();
  void handshakeFailed();
  // Input the owner has not had yet waits in saved_input or inside OpenSSL (read-ahead took it
  // from the BIO): records, or the start of one.
  bool holdsInput() const;
  void deliverEof();
  // Hands what OpenSSL wrote (records, alerts) to the TCP transport.
  void flushRecords();
  // After the batched response: close_notify, on a TLS connection whose handshake is done.
  void sendCloseNotify();
  void encrypt(const uv_buf_t* buffers, size_t count);
  void scheduleResume();
  static void onResume(uv_timer_t* timer);

  // TLS state lives behind a pointer, allocated only for TLS connections: a plain connection
  // (most of them, and every idle keep-alive on a plain listener) pays 8 bytes for it, not ~150.
  // It is the TCP transport's callbacks on a TLS connection (a plain connection's TCP transport
  // calls the owner directly), so the transport itself carries no second vtable pointer.
  struct TlsState final : core::TransportCallbacks {
    explicit TlsState(StreamTransport& transport) : self(transport) {}
    ~TlsState();

    void onTransportData(const char* data, size_t length) override {
      self.onTransportData(data, length);
    }
    void onTransportEof() override { self.onTransportEof(); }
    void onTransportError(int uv_status) override { self.onTransportError(uv_status); }
    void onTransportWritable() override { self.onTransportWritable(); }
    void onTransportClosed() override { self.onTransportClosed(); }
    void onTransportConnected() override { self.onTransportConnected(); }

    StreamTransport& self;
    // The owner's callbacks: the TCP transport calls this object, which decrypts and passes on.
    core::TransportCallbacks* owner = nullptr;
    std::shared_ptr<const ServerContext> context;
    std::shared_ptr<const ClientContext> client_context;  // set on a backend connection
    HandshakeWorkerStats* stats = nullptr;                // server side, when counted
    SSL* ssl = nullptr;
    // The ciphertext OpenSSL may read now: the bytes of the current read callback, or those
    // kept in `saved_input` while the owner paused reading.
    std::string_view input;
    std::string saved_input;
    std::string early_writes;           // plaintext written before the handshake finished
    std::string handshake_error;        // why the handshake failed, once it did
    core::UvHandle<uv_timer_t> resume;  // delivers saved input after startReading()
    bool reading = false;               // what the owner asked for
    bool handshake_done = false;
    bool peer_eof = false;  // TCP EOF or close_notify seen
    bool eof_delivered = false;
    bool failed = false;
    bool report_failure = false;   // an encryption failure the owner hears of on the next turn
    bool quiet_failure = false;    // connect(..., FailureLog::kQuiet)
    bool counted = false;          // the handshake's outcome is in `stats`
    bool got_input = false;        // `first_byte` is set
    unsigned char first_byte = 0;  // a TLS handshake record starts with 0x16
  };

  core::TcpTransport tcp_;         // knows the loop and, on a plain connection, the owner
  std::unique_ptr<TlsState> tls_;  // null on a plain connection
};

}  // namespace sy::tls
