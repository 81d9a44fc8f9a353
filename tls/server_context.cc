#include "tls/server_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sy::tls {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  absl::AsciiStrToLower(&out);
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ChainFree {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_pop_free(chain, X509_free); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

struct LoadedCertificate {
  X509Ptr leaf;
  ChainPtr chain;
  KeyPtr key;
  int key_id = 0;  // EVP_PKEY_get_base_id: one certificate per key type in an SSL_CTX
  CertificateInfo info;
};

// A key file protected by a passphrase would make OpenSSL prompt on the terminal: refuse it.
int noPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return -1; }

BioPtr openFile(const std::string& path, absl::Status* error) {
  errno = 0;
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    const int saved = errno;
    ERR_clear_error();
    *error = absl::InvalidArgumentError(absl::StrCat(
        "cannot open ", path, ": ", saved != 0 ? std::strerror(saved) : "unknown error"));
  }
  return bio;
}

std::string nameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string serialText(const X509* cert) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (number == nullptr) return "";
  char* hex = BN_bn2hex(number);
  std::string text = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(number);
  return lowercase(text);
}

// DNS names from subjectAltName; the subject CN only when there is no DNS name at all
// (RFC 6125 §6.4.4).
std::vector<std::string> dnsNames(X509* cert) {
  std::vector<std::string> names;
  auto* general =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (general != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(general); ++i) {
      const GENERAL_NAME* entry = sk_GENERAL_NAME_value(general, i);
      if (entry->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = entry->d.dNSName;
      names.push_back(
          lowercase(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                     static_cast<size_t>(ASN1_STRING_length(dns)))));
    }
    GENERAL_NAMES_free(general);
  }
  if (names.empty()) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index >= 0) {
      const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
      names.push_back(
          lowercase(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                                     static_cast<size_t>(ASN1_STRING_length(cn)))));
    }
  }
  return names;
}

absl::StatusOr<LoadedCertificate> loadCertificate(const CertificateFiles& files) {
  absl::Status error;
  LoadedCertificate loaded;
  BioPtr cert_bio = openFile(files.cert, &error);
  if (cert_bio == nullptr) return error;
  loaded.leaf.reset(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, noPassphrase, nullptr));
  if (loaded.leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.cert, ": no PEM certificate in the file (", takeOpenSslError(), ")"));
  }
  loaded.chain.reset(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(cert_bio.get(), nullptr, noPassphrase, nullptr)) {
    sk_X509_push(loaded.chain.get(), next);
  }
  // The loop ends at the end of the file (no more PEM blocks) or at a broken block.
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 &&
      !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(absl::StrCat(
        files.cert, ": a certificate after the first one is broken (", takeOpenSslError(), ")"));
  }
  ERR_clear_error();

  BioPtr key_bio = openFile(files.key, &error);
  if (key_bio == nullptr) return error;
  loaded.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, noPassphrase, nullptr));
  if (loaded.key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        files.key,
        ": no usable PEM private key in the file (keys with a passphrase are not supported) (",
        takeOpenSslError(), ")"));
  }
  if (X509_check_private_key(loaded.leaf.get(), loaded.key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(files.key, " does not match the certificate in ", files.cert));
  }
  loaded.key_id = EVP_PKEY_get_base_id(loaded.key.get());
  CertificateInfo& info = loaded.info;
  info.cert_file = files.cert;
  const char* type = EVP_PKEY_get0_type_name(loaded.key.get());
  info.key_type = type != nullptr ? type : "unknown";
  info.names = dnsNames(loaded.leaf.get());
  info.subject = nameText(X509_get_subject_name(loaded.leaf.get()));
  info.serial = serialText(loaded.leaf.get());
  tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(loaded.leaf.get()), &not_after) == 1) {
    info.not_after = static_cast<int64_t>(timegm(&not_after));
  }
  return loaded;
}

// RFC 7301 §3.2: a client that offers protocols but not ours gets no_application_protocol.
// The server's order wins (SSL_select_next_proto): h2 first where offered, as nginx does.
const unsigned char kHttp11Only[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
const unsigned char kH2AndHttp11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int onAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
           const unsigned char* offered, unsigned int offered_length, void* arg) {
  const bool http2 = arg != nullptr;
  const unsigned char* protocols = http2 ? kH2AndHttp11 : kHttp11Only;
  const unsigned int protocols_length = http2 ? sizeof kH2AndHttp11 : sizeof kHttp11Only;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, protocols, protocols_length, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

absl::StatusOr<CtxPtr> newContext(const ServerSettings& settings) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new: " + takeOpenSslError());
  SSL_CTX_set_min_proto_version(
      ctx.get(), settings.min_version == TlsVersion::k1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // The server's cipher order wins: the lists put the strongest and fastest first.
  // Renegotiation is refused outright (a client-triggered CPU sink; HTTP/1.1 has no use for it).
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // An idle keep-alive connection gives its read and write buffers (~34 KiB) back.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // Resumption uses tickets only (stateless, valid on every worker); the server-side session
  // cache would be one more lock every handshake takes.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx.get(), settings.ciphers.c_str()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("tls.ciphers: OpenSSL knows no cipher in \"", settings.ciphers, "\""));
  }
  if (SSL_CTX_set_ciphersuites(ctx.get(), settings.ciphersuites.c_str()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("tls.ciphersuites: OpenSSL rejects \"", settings.ciphersuites, "\""));
  }
  if (SSL_CTX_set1_groups_list(ctx.get(), settings.curves.c_str()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("tls.curves: OpenSSL rejects \"", settings.curves, "\""));
  }
  // The callback's argument only says whether h2 is offered (non-null: yes).
  SSL_CTX_set_alpn_select_cb(ctx.get(), onAlpn,
                             settings.http2 ? const_cast<unsigned char*>(kH2AndHttp11) : nullptr);
  // Resuming a session that was authenticated by a client certificate needs a session id
  // context (OpenSSL refuses to resume without one once peer verification is on).
  static const unsigned char kSessionContext[] = "switchyard";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  if (!settings.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), settings.client_ca.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("tls.client_ca: ", settings.client_ca,
                                                     ": no usable PEM CA certificate (",
                                                     takeOpenSslError(), ")"));
    }
    // The CA names go into the CertificateRequest, so a client with several certificates
    // knows which one to send.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca.c_str());
    if (names == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("tls.client_ca: ", settings.client_ca,
                                                     ": no CA certificate names (",
                                                     takeOpenSslError(), ")"));
    }
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

}  // namespace

std::string takeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

absl::StatusOr<std::shared_ptr<const ServerContext>> ServerContext::create(
    const ServerSettings& settings, std::shared_ptr<TicketKeyRing> ticket_keys) {
  if (settings.certificates.empty()) {
    return absl::InvalidArgumentError("tls.certificates: at least one certificate is needed");
  }
  // Settings errors first: they do not depend on the files.
  if (auto probe = newContext(settings); !probe.ok()) return probe.status();

  std::vector<LoadedCertificate> loaded;
  for (size_t i = 0; i < settings.certificates.size(); ++i) {
    auto certificate = loadCertificate(settings.certificates[i]);
    if (!certificate.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.certificates[", i, "]: ", certificate.status().message()));
    }
    loaded.push_back(*std::move(certificate));
  }

  // For each name, the certificates that serve it: the first one of each key type, in the
  // order of the configuration.
  std::map<std::string, std::vector<size_t>> serving;
  for (size_t i = 0; i < loaded.size(); ++i) {
    for (const std::string& name : loaded[i].info.names) {
      std::vector<size_t>& set = serving[name];
      bool type_taken = false;
      for (size_t j : set) type_taken = type_taken || loaded[j].key_id == loaded[i].key_id;
      if (!type_taken) set.push_back(i);
    }
  }

  std::shared_ptr<ServerContext> context(new ServerContext());
  context->strict_sni_ = settings.strict_sni;
  context->ticket_keys_ =
      ticket_keys != nullptr ? std::move(ticket_keys) : std::make_shared<TicketKeyRing>();
  context->ticket_key_rotation_ = settings.session_ticket_rotation;
  std::map<std::vector<size_t>, SSL_CTX*> by_set;  // one SSL_CTX per distinct set
  auto contextFor = [&](const std::vector<size_t>& set) -> absl::StatusOr<SSL_CTX*> {
    auto found = by_set.find(set);
    if (found != by_set.end()) return found->second;
    auto ctx = newContext(settings);
    if (!ctx.ok()) return ctx.status();
    for (size_t i : set) {
      LoadedCertificate& certificate = loaded[i];
      if (SSL_CTX_use_cert_and_key(ctx->get(), certificate.leaf.get(), certificate.key.get(),
                                   certificate.chain.get(), 1) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("tls.certificates[", i,
                                                       "]: OpenSSL refuses the certificate (",
                                                       takeOpenSslError(), ")"));
      }
    }
    SSL_CTX_set_tlsext_servername_callback(ctx->get(), &ServerContext::onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx->get(), context.get());
    // Every context, not only the default: OpenSSL asks the one the handshake started from, and
    // a context SNI switched to must not fall back to keys of its own.
    context->ticket_keys_->install(ctx->get());
    SSL_CTX* raw = ctx->release();
    context->contexts_.push_back(raw);
    by_set.emplace(set, raw);
    return raw;
  };

  const std::vector<std::string>& first_names = loaded[0].info.names;
  auto default_ctx =
      contextFor(first_names.empty() ? std::vector<size_t>{0} : serving[first_names[0]]);
  if (!default_ctx.ok()) return default_ctx.status();
  context->default_ = *default_ctx;
  for (const auto& [name, set] : serving) {
    auto ctx = contextFor(set);
    if (!ctx.ok()) return ctx.status();
    if (absl::StartsWith(name, "*.")) {
      context->wildcard_.emplace(name.substr(2), *ctx);
    } else {
      context->exact_.emplace(name, *ctx);
    }
  }
  for (LoadedCertificate& certificate : loaded) {
    context->certificates_.push_back(std::move(certificate.info));
  }
  return std::shared_ptr<const ServerContext>(std::move(context));
}

ServerContext::~ServerContext() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

SSL_CTX* ServerContext::lookup(std::string_view name) const {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // absolute form
  const std::string lower = lowercase(name);
  if (auto it = exact_.find(lower); it != exact_.end()) return it->second;
  const size_t dot = lower.find('.');
  if (dot == std::string::npos) return nullptr;
  if (auto it = wildcard_.find(std::string_view(lower).substr(dot + 1)); it != wildcard_.end()) {
    return it->second;
  }
  return nullptr;
}

int ServerContext::onServerName(SSL* ssl, int* alert, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  SSL_CTX* chosen = self->lookup(name);
  if (chosen == nullptr) {
    if (!self->strict_sni_) return SSL_TLSEXT_ERR_OK;
    *alert = SSL_AD_UNRECOGNIZED_NAME;  // RFC 6066 §3
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace sy::tls
