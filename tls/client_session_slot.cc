#include "tls/client_session_slot.h"

namespace sy::tls {
namespace {

// The SSL ex_data index under which a connection points at its slot.
int slotIndex() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return kIndex;
}

}  // namespace

ClientSessionSlot::~ClientSessionSlot() { clear(); }

void ClientSessionSlot::clear() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = nullptr;
}

void ClientSessionSlot::attach(SSL* ssl, const std::shared_ptr<const ClientContext>& context) {
  if (context != context_) {
    clear();
    context_ = context;
  }
  SSL_set_ex_data(ssl, slotIndex(), this);
  // TLS 1.3 tickets expire (the server's lifetime hint); an expired one would only be refused.
  if (session_ != nullptr && SSL_SESSION_is_resumable(session_) == 1) {
    SSL_set_session(ssl, session_);  // takes its own reference
  }
}

int ClientSessionSlot::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<ClientSessionSlot*>(SSL_get_ex_data(ssl, slotIndex()));
  // A reload may have attached the slot to a newer context while this connection was opening.
  if (slot == nullptr || slot->context_ == nullptr ||
      slot->context_->sslCtx() != SSL_get_SSL_CTX(ssl)) {
    return 0;
  }
  // A copy: OpenSSL marks the connection's own session object not resumable when the
  // connection is freed without a close_notify sent (SSL_free -> SSL_CTX_remove_session), which
  // is how pooled backend connections usually end.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  slot->clear();
  slot->session_ = copy;
  return 0;  // OpenSSL keeps and frees its own reference
}

}  // namespace sy::tls
