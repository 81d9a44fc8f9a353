#include "tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "tls/client_session_slot.h"
#include "tls/server_context.h"
#include "tls/server_settings.h"

namespace sy::tls {

absl::StatusOr<std::shared_ptr<const ClientContext>> ClientContext::create(
    const ClientSettings& settings) {
  std::shared_ptr<ClientContext> context(new ClientContext());
  context->settings_ = settings;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new: " + takeOpenSslError());
  context->ctx_ = ctx;  // freed with `context` on every error below
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_cipher_list(ctx, kIntermediateCiphers);
  SSL_CTX_set_ciphersuites(ctx, kIntermediateCiphersuites);
  SSL_CTX_set1_groups_list(ctx, kIntermediateCurves);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  // Client sessions are kept per backend and worker by ClientSessionSlot, not in OpenSSL's
  // cache (which is keyed by nothing useful on a client and locked).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &ClientSessionSlot::onNewSession);
  if (settings.verify) {
    const int loaded = settings.ca.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, settings.ca.c_str(), nullptr);
    if (loaded != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tls.ca: cannot load ", settings.ca.empty() ? "the system CA store" : settings.ca, " (",
          takeOpenSslError(), ")"));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.cert: cannot use ", settings.cert, " (", takeOpenSslError(), ")"));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.key: cannot use ", settings.key, " (", takeOpenSslError(), ")"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat(settings.key, " does not match the certificate in ", settings.cert));
    }
  }
  return std::shared_ptr<const ClientContext>(std::move(context));
}

ClientContext::~ClientContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

SSL* ClientContext::newSsl(const std::string& ip) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  SSL_set_connect_state(ssl);
  if (!settings_.sni.empty()) {
    SSL_set_tlsext_host_name(ssl, settings_.sni.c_str());
    if (settings_.verify) SSL_set1_host(ssl, settings_.sni.c_str());
  } else if (settings_.verify) {
    // No name to check: the certificate must carry the backend's IP address (RFC 6125 §1.7.2
    // leaves IP identities to the application; subjectAltName iPAddress is the usual form).
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.c_str());
  }
  return ssl;
}

}  // namespace sy::tls
