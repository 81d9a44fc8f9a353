#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/strings.h"
#include "tls/server_settings.h"
#include "tls/ticket_keys.h"

namespace sy::tls {

// What was loaded from one configured certificate (for logs, --check and the admin API).
struct CertificateInfo {
  std::string cert_file;
  std::string key_type;            // "RSA", "EC", "ED25519", ...
  std::vector<std::string> names;  // DNS names (subjectAltName, else the subject CN), lowercase
  std::string subject;
  std::string serial;     // hex
  int64_t not_after = 0;  // Unix seconds
};

// The TLS side of one listener, built on the control thread from ServerSettings and shared,
// immutable, by every worker (an SSL_CTX is safe to use from several threads once set up).
//
// Certificate choice follows the client's SNI name: an exact name first, then a wildcard
// ("*.example.com" covers "a.example.com", one label only, RFC 6125 §6.4.3), then the default
// (the set that serves the first certificate's names) unless strict_sni asks for an alert.
// Certificates that serve the same name with different key types (RSA and ECDSA) share one
// SSL_CTX, and OpenSSL picks the key the client's signature algorithms allow.
//
// Session tickets are encrypted with the keys of a TicketKeyRing that every SSL_CTX of the
// listener uses and all workers share: a ticket issued by one worker resumes on any other. A
// reload builds a new ServerContext (connections keep the one they were accepted with) around
// the same ring, so tickets survive reloads; the control thread rotates the ring.
class ServerContext {
 public:
  // `ticket_keys`: the ring of the context this one replaces (a reload); null: a new ring.
  static absl::StatusOr<std::shared_ptr<const ServerContext>> create(
      const ServerSettings& settings, std::shared_ptr<TicketKeyRing> ticket_keys = nullptr);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A new server-side SSL object for one connection; null when OpenSSL is out of memory.
  SSL* newSsl() const { return SSL_new(default_); }
  const std::vector<CertificateInfo>& certificates() const { return certificates_; }
  // The listener's session ticket keys (the control thread rotates them).
  const std::shared_ptr<TicketKeyRing>& ticketKeys() const { return ticket_keys_; }
  absl::Duration ticketKeyRotation() const { return ticket_key_rotation_; }

 private:
  ServerContext() = default;
  static int onServerName(SSL* ssl, int* alert, void* arg);
  SSL_CTX* lookup(std::string_view name) const;

  std::vector<SSL_CTX*> contexts_;  // owned
  SSL_CTX* default_ = nullptr;
  core::StringMap<SSL_CTX*> exact_;
  core::StringMap<SSL_CTX*> wildcard_;  // by the part after "*."
  bool strict_sni_ = false;
  std::vector<CertificateInfo> certificates_;
  std::shared_ptr<TicketKeyRing> ticket_keys_;
  absl::Duration ticket_key_rotation_;
};

// The last OpenSSL error of this thread as text (and the queue cleared), for messages.
std::string takeOpenSslError();

}  // namespace sy::tls
