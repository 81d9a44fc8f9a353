#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tls/client_settings.h"

namespace sy::tls {

// The TLS side of one pool's backend connections: an SSL_CTX set up on the control thread and
// shared, immutable, by every worker. TLS 1.2 and 1.3, the same cipher defaults as listeners,
// ALPN http/1.1, certificate and name verification unless `verify = false`. Sessions the
// backends issue go to the ClientSessionSlot of the connection (none: not kept).
class ClientContext {
 public:
  static absl::StatusOr<std::shared_ptr<const ClientContext>> create(
      const ClientSettings& settings);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A client-side SSL for a connection to `ip` (the backend's address, text): SNI and the name
  // to verify are set. Null when OpenSSL is out of memory.
  SSL* newSsl(const std::string& ip) const;
  const ClientSettings& settings() const { return settings_; }
  SSL_CTX* sslCtx() const { return ctx_; }

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  ClientSettings settings_;
};

}  // namespace sy::tls
