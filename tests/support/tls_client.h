#pragma once

// A blocking TLS client on OpenSSL for the integration tests: it states exactly what it offers
// (SNI, versions, signature algorithms, ALPN, a session to resume) and reports what the server
// chose, so tests can assert on certificate selection without parsing s_client's output.

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::testing {

struct TlsClientOptions {
  std::string sni;        // empty: no server_name extension
  std::string ca_file;    // set: the chain must verify against it (and match `sni`)
  std::string cert_file;  // set: a client certificate (PEM chain) and its key, if asked for
  std::string key_file;
  std::string sigalgs;  // e.g. "ECDSA+SHA256"; empty: OpenSSL's default list
  int min_version = 0;  // TLS1_VERSION...; 0: OpenSSL's default
  int max_version = 0;
  std::string ciphers;  // TLS <= 1.2 cipher list; empty: default
  std::vector<std::string> alpn = {"http/1.1"};
  SSL_SESSION* session = nullptr;  // offered for resumption (not owned)
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  // Sent in the clear right after connecting, before the ClientHello (a PROXY protocol header).
  std::string preamble;
};

class TlsClient {
 public:
  TlsClient() = default;
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Connects to 127.0.0.1:port and completes the handshake; false (see lastError()) otherwise.
  bool connect(uint16_t port, const TlsClientOptions& options = {});
  const std::string& lastError() const { return error_; }

  std::string version() const;         // "TLSv1.3"
  std::string alpn() const;            // "" when none was agreed
  std::string peerCommonName() const;  // the leaf's subject CN
  std::string peerKeyType() const;     // "RSA" or "EC"
  std::string peerSerial() const;      // lowercase hex
  int peerChainLength() const;         // certificates the server sent
  bool resumed() const;
  // The latest session the server issued, to offer on another connection (the caller frees it
  // with SSL_SESSION_free); null when none came. With TLS 1.3 the ticket follows the
  // handshake: read a response first.
  SSL_SESSION* takeSession();

  bool send(std::string_view data);
  // Reads one HTTP/1.1 response with a Content-Length body (head and body as received).
  std::optional<std::string> readResponse();
  // Reads until the server closes (EOF or close_notify) or the timeout; what arrived.
  std::string readUntilClose();
  // After readUntilClose(): the server ended with close_notify, not a bare EOF.
  bool closedWithNotify() const { return closed_with_notify_; }
  // True when the connection ends (EOF, alert, reset) within the timeout without data.
  bool waitClosed();

 private:
  bool fail(std::string message);

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffered_;
  std::string error_;
  SSL_SESSION* latest_session_ = nullptr;
  bool closed_with_notify_ = false;
};

}  // namespace sy::testing
