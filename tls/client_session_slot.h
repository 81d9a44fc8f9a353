#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "tls/client_context.h"

namespace sy::tls {

// The last TLS session of one backend on one worker, offered on the next connection to it so
// that the handshake resumes (an abbreviated handshake: no certificate, no signature). One
// worker thread owns it, so the request path takes no lock. Each slot is tied to the
// ClientContext that made its session: after a reload built a new context (the CA or the
// client certificate may have changed), a session made under the old one is never offered.
class ClientSessionSlot {
 public:
  ClientSessionSlot() = default;
  ~ClientSessionSlot();
  ClientSessionSlot(const ClientSessionSlot&) = delete;
  ClientSessionSlot& operator=(const ClientSessionSlot&) = delete;

  // Sets the session to offer, if any, on `ssl`, a new connection made with `context`, and
  // makes the sessions that connection receives land here (through the context's new-session
  // callback: TLS 1.3 sends them after the handshake).
  void attach(SSL* ssl, const std::shared_ptr<const ClientContext>& context);
  // Drops the session (the next connection makes a full handshake).
  void clear();
  bool hasSession() const { return session_ != nullptr; }

  // The context's new-session callback: keeps `session` in the slot attached to `ssl`. Returns
  // 1 when the slot took the reference, 0 when there is no slot or the session belongs to
  // another context (OpenSSL then frees it).
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

 private:
  std::shared_ptr<const ClientContext> context_;  // the context of `session_`, kept alive
  SSL_SESSION* session_ = nullptr;
};

}  // namespace sy::tls
