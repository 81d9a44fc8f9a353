#include "tests/support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace sy::testing {
namespace {

std::string openSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL detail";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

TlsClient::~TlsClient() {
  if (latest_session_ != nullptr) SSL_SESSION_free(latest_session_);
  if (ssl_ != nullptr) {
    // A session is only resumable after a clean close (close_notify sent); otherwise OpenSSL
    // marks it unusable.
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool TlsClient::fail(std::string message) {
  error_ = std::move(message);
  return false;
}

bool TlsClient::connect(uint16_t port, const TlsClientOptions& options) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) return fail("SSL_CTX_new: " + openSslError());
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx_, options.ciphers.c_str()) != 1) {
    return fail("cipher list: " + openSslError());
  }
  if (!options.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx_, options.sigalgs.c_str()) != 1) {
    return fail("sigalgs: " + openSslError());
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
      return fail("CA file: " + openSslError());
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail("client certificate: " + openSslError());
    }
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(options.timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((options.timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return fail(std::string("connect: ") + std::strerror(errno));
  }
  if (!options.preamble.empty() &&
      ::send(fd_, options.preamble.data(), options.preamble.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(options.preamble.size())) {
    return fail(std::string("send: ") + std::strerror(errno));
  }
  // TLS 1.3 tickets arrive after the handshake; the new-session callback is where OpenSSL hands
  // them out (SSL_get1_session may still return the ticket-less session).
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx_, [](SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<TlsClient*>(SSL_get_app_data(ssl));
    if (self->latest_session_ != nullptr) SSL_SESSION_free(self->latest_session_);
    self->latest_session_ = session;
    return 1;  // we keep the reference
  });
  ssl_ = SSL_new(ctx_);
  SSL_set_app_data(ssl_, this);
  SSL_set_fd(ssl_, fd_);
  if (!options.sni.empty()) {
    SSL_set_tlsext_host_name(ssl_, options.sni.c_str());
    if (!options.ca_file.empty()) SSL_set1_host(ssl_, options.sni.c_str());
  }
  if (options.session != nullptr) SSL_set_session(ssl_, options.session);
  ERR_clear_error();
  if (SSL_connect(ssl_) != 1) {
    const long verify = SSL_get_verify_result(ssl_);
    std::string message = "handshake: " + openSslError();
    if (verify != X509_V_OK)
      message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return fail(message);
  }
  return true;
}

std::string TlsClient::version() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

std::string TlsClient::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  if (ssl_ != nullptr) SSL_get0_alpn_selected(ssl_, &data, &length);
  return data == nullptr ? "" : std::string(reinterpret_cast<const char*>(data), length);
}

std::string TlsClient::peerCommonName() const {
  X509* peer = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (peer == nullptr) return "";
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
  return name;
}

std::string TlsClient::peerKeyType() const {
  X509* peer = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (peer == nullptr) return "";
  const int id = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
  return id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : "other";
}

std::string TlsClient::peerSerial() const {
  X509* peer = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (peer == nullptr) return "";
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
  char* hex = BN_bn2hex(number);
  std::string text = hex;
  OPENSSL_free(hex);
  BN_free(number);
  absl::AsciiStrToLower(&text);
  return text;
}

int TlsClient::peerChainLength() const {
  STACK_OF(X509)* chain = ssl_ != nullptr ? SSL_get_peer_cert_chain(ssl_) : nullptr;
  return chain == nullptr ? 0 : sk_X509_num(chain);
}

bool TlsClient::resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

SSL_SESSION* TlsClient::takeSession() {
  SSL_SESSION* session = latest_session_;
  latest_session_ = nullptr;
  return session;
}

bool TlsClient::send(std::string_view data) {
  if (ssl_ == nullptr) return fail("not connected");
  size_t written = 0;
  if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1) {
    return fail("write: " + openSslError());
  }
  return true;
}

std::optional<std::string> TlsClient::readResponse() {
  char chunk[16384];
  auto more = [&]() -> bool {
    size_t n = 0;
    if (SSL_read_ex(ssl_, chunk, sizeof chunk, &n) != 1) return false;
    buffered_.append(chunk, n);
    return true;
  };
  size_t head_end;
  while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
    if (!more()) {
      fail("read (head): " + openSslError());
      return std::nullopt;
    }
  }
  head_end += 4;
  std::string lower_head = buffered_.substr(0, head_end);
  absl::AsciiStrToLower(&lower_head);
  size_t body = 0;
  const size_t field = lower_head.find("\r\ncontent-length:");
  if (field != std::string::npos) {
    const size_t start = field + 17;
    const size_t end = lower_head.find("\r\n", start);
    std::string value(lower_head.substr(start, end - start));
    absl::StripAsciiWhitespace(&value);
    if (!absl::SimpleAtoi(value, &body)) body = 0;
  }
  while (buffered_.size() < head_end + body) {
    if (!more()) {
      fail("read (body): " + openSslError());
      return std::nullopt;
    }
  }
  std::string response = buffered_.substr(0, head_end + body);
  buffered_.erase(0, head_end + body);
  return response;
}

std::string TlsClient::readUntilClose() {
  std::string all = std::move(buffered_);
  buffered_.clear();
  char chunk[16384];
  size_t n = 0;
  int rc = 0;
  while (ssl_ != nullptr && (rc = SSL_read_ex(ssl_, chunk, sizeof chunk, &n)) == 1) {
    all.append(chunk, n);
  }
  closed_with_notify_ = ssl_ != nullptr && SSL_get_error(ssl_, rc) == SSL_ERROR_ZERO_RETURN;
  ERR_clear_error();
  return all;
}

bool TlsClient::waitClosed() {
  char byte;
  // Without a TLS session (the handshake failed) the socket itself is read.
  const ssize_t n = ::recv(fd_, &byte, 1, 0);
  if (n == 0) return true;
  if (n < 0) return errno == ECONNRESET;  // EAGAIN: the timeout passed, still open
  return false;
}

}  // namespace sy::testing
