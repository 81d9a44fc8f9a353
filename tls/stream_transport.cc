#include "tls/stream_transport.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/log.h"
#include "core/loop_context.h"

namespace sy::tls {
namespace {

// Records OpenSSL produced during one call, handed to the TCP transport right after it (one
// loop thread runs one OpenSSL call at a time, so one buffer per thread serves every
// connection).
thread_local std::string t_records;

// nginx answers a plain HTTP request on an HTTPS port the same way; a client (or a person with
// curl) learns what went wrong instead of seeing a reset.
constexpr std::string_view kPlainHttpReply =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 47\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS: a plain HTTP request.\r\n";

// SSL_get_error() reads the thread's error queue, so it must be empty before the call it
// judges. OpenSSL 3's ERR_clear_error() walks all 16 slots of the queue (~800 instructions)
// even when it is empty, as it nearly always is; ERR_peek_error() finds that out in ~200.
void clearErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// Read-ahead: OpenSSL takes all the ciphertext the BIO offers (up to its record buffer) in one
// read instead of a 5-byte header and then the record's body, two BIO reads and copies per
// record. Records it took but has not decrypted then wait inside OpenSSL rather than in
// TlsState::input/saved_input; every place that asks "is input waiting?" asks SSL_has_pending
// too (StreamTransport::holdsInput).
void enableReadAhead(SSL* ssl) { SSL_set_read_ahead(ssl, 1); }

}  // namespace

// The BIO under every TLS connection: reads come from StreamTransport::TlsState::input, writes go
// to t_records. An empty input is "retry later" (the next read callback brings more).
struct TransportBio {
  static BIO_METHOD* method() {
    static BIO_METHOD* const kMethod = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "switchyard-tcp");
      BIO_meth_set_write_ex(m, &write);
      BIO_meth_set_read_ex(m, &read);
      BIO_meth_set_ctrl(m, &ctrl);
      BIO_meth_set_create(m, [](BIO* bio) {
        BIO_set_init(bio, 1);
        return 1;
      });
      return m;
    }();
    return kMethod;
  }

  static int write(BIO* bio, const char* data, size_t length, size_t* written) {
    BIO_clear_retry_flags(bio);
    t_records.append(data, length);
    *written = length;
    return 1;
  }

  static int read(BIO* bio, char* out, size_t length, size_t* read_bytes) {
    BIO_clear_retry_flags(bio);
    auto* self = static_cast<StreamTransport*>(BIO_get_data(bio));
    if (self->tls_->input.empty()) {
      BIO_set_retry_read(bio);
      *read_bytes = 0;
      return 0;
    }
    const size_t n = std::min(length, self->tls_->input.size());
    std::memcpy(out, self->tls_->input.data(), n);
    self->tls_->input.remove_prefix(n);
    *read_bytes = n;
    return 1;
  }

  static long ctrl(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;
  }
};

StreamTransport::StreamTransport(uv_loop_t* loop) : tcp_(loop) {}

StreamTransport::~StreamTransport() = default;

StreamTransport::TlsState::~TlsState() {
  if (ssl != nullptr) SSL_free(ssl);  // frees the BIO too
}

int StreamTransport::adopt(int fd, std::shared_ptr<const ServerContext> context,
                           HandshakeWorkerStats* stats) {
  const int rc = tcp_.adopt(fd);
  if (rc != 0 || context == nullptr) return rc;
  return attachServerSsl(std::move(context), stats);
}

int StreamTransport::accept(uv_stream_t* server, std::shared_ptr<const ServerContext> context) {
  const int rc = tcp_.accept(server);
  if (rc != 0 || context == nullptr) return rc;
  return attachServerSsl(std::move(context), nullptr);
}

int StreamTransport::startTls(std::shared_ptr<const ServerContext> context,
                              std::string_view initial, HandshakeWorkerStats* stats) {
  if (tls_ != nullptr || tcp_.isClosing()) return UV_EINVAL;
  const bool owner_reading = tcp_.isReading();
  int rc = attachServerSsl(std::move(context), stats);
  if (rc != 0) return rc;
  tls_->reading = owner_reading;
  // The handshake reads whatever the owner wants (as after adopt() with a context).
  if (!owner_reading && (rc = tcp_.startReading()) != 0) return rc;
  if (!initial.empty()) onTransportData(initial.data(), initial.size());
  return 0;
}

int StreamTransport::attachServerSsl(std::shared_ptr<const ServerContext> context,
                                     HandshakeWorkerStats* stats) {
  tls_ = std::make_unique<TlsState>(*this);
  tls_->owner = tcp_.callbacks();
  tls_->context = std::move(context);
  tls_->stats = stats;
  tls_->ssl = tls_->context->newSsl();
  BIO* bio = tls_->ssl != nullptr ? BIO_new(TransportBio::method()) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    tls_.reset();
    return UV_ENOMEM;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(tls_->ssl, bio, bio);  // one BIO both ways; the SSL owns it
  enableReadAhead(tls_->ssl);
  SSL_set_accept_state(tls_->ssl);
  tcp_.setCallbacks(tls_.get());
  return 0;
}

int StreamTransport::connect(const core::NetAddress& address,
                             std::shared_ptr<const ClientContext> context,
                             ClientSessionSlot* sessions, FailureLog failure_log) {
  if (context == nullptr) return tcp_.connect(address);
  tls_ = std::make_unique<TlsState>(*this);
  tls_->owner = tcp_.callbacks();
  tls_->quiet_failure = failure_log == FailureLog::kQuiet;
  tls_->client_context = std::move(context);
  tls_->ssl = tls_->client_context->newSsl(address.hostString());
  BIO* bio = tls_->ssl != nullptr ? BIO_new(TransportBio::method()) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    tls_.reset();
    return UV_ENOMEM;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(tls_->ssl, bio, bio);
  enableReadAhead(tls_->ssl);
  if (sessions != nullptr) sessions->attach(tls_->ssl, tls_->client_context);
  tcp_.setCallbacks(tls_.get());
  return tcp_.connect(address);
}

void StreamTransport::onTransportConnected() {
  if (tls_ == nullptr) return;  // plain transports hand this to the owner directly
  // The handshake reads whatever the owner wants: start reading for it now.
  const int rc = tcp_.startReading();
  if (rc != 0) {
    tls_->owner->onTransportError(rc);
    return;
  }
  pump();  // sends the ClientHello
}

TlsDetails StreamTransport::tlsDetails() const {
  TlsDetails details;
  if (tls_ == nullptr || !tls_->handshake_done) return details;
  details.version = SSL_get_version(tls_->ssl);
  const char* cipher = SSL_get_cipher_name(tls_->ssl);
  if (cipher != nullptr) details.cipher = cipher;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(tls_->ssl, &alpn, &alpn_length);
  if (alpn != nullptr) details.alpn = {reinterpret_cast<const char*>(alpn), alpn_length};
  const char* sni = SSL_get_servername(tls_->ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != nullptr) details.sni = sni;
  details.resumed = SSL_session_reused(tls_->ssl) == 1;
  return details;
}

void StreamTransport::handshakeTimedOut() {
  if (tls_ != nullptr && !tls_->handshake_done && !tls_->failed) {
    countHandshake(HandshakeResult::kTimeout);
  }
}

void StreamTransport::countHandshake(HandshakeResult result) {
  if (tls_->stats == nullptr || tls_->counted) return;
  tls_->counted = true;
  tls_->stats->results[static_cast<size_t>(result)].add();
  if (result != HandshakeResult::kOk) return;
  tls_->stats->versions[SSL_version(tls_->ssl) == TLS1_3_VERSION ? 1 : 0].add();
  if (SSL_session_reused(tls_->ssl) == 1) tls_->stats->resumed.add();
}

HandshakeResult StreamTransport::failureReason(bool plain_http) const {
  if (plain_http) return HandshakeResult::kPlainHttp;
  if (tls_->got_input && tls_->first_byte != 0x16) return HandshakeResult::kNotTls;
  const unsigned long error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) != ERR_LIB_SSL) return HandshakeResult::kOther;
  switch (ERR_GET_REASON(error)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_SSL_VERSION:
      return HandshakeResult::kProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
      return HandshakeResult::kNoSharedCipher;
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return HandshakeResult::kNoApplicationProtocol;
    case SSL_R_CALLBACK_FAILED:
      // The only callback that fails a server handshake is the SNI one under strict_sni
      // (ServerContext::onServerName); ALPN has a reason of its own.
      return HandshakeResult::kUnrecognizedName;
    default:
      return HandshakeResult::kOther;
  }
}

void StreamTransport::setCallbacks(core::TransportCallbacks* callbacks) {
  if (tls_ != nullptr) {
    tls_->owner = callbacks;
  } else {
    tcp_.setCallbacks(callbacks);
  }
}

int StreamTransport::startReading() {
  if (tls_ == nullptr) return tcp_.startReading();
  if (tcp_.isClosing()) return 0;
  tls_->reading = true;
  const int rc = tls_->peer_eof ? 0 : tcp_.startReading();
  // Bytes that arrived while the owner paused wait here or inside OpenSSL (read-ahead), not in
  // the socket: nothing would wake us up for them. Delivering them from inside this call would
  // re-enter the owner.
  if (holdsInput() || (tls_->peer_eof && !tls_->eof_delivered)) scheduleResume();
  return rc;
}

void StreamTransport::stopReading() {
  if (tls_ == nullptr) {
    tcp_.stopReading();
    return;
  }
  tls_->reading = false;
  if (tls_->handshake_done) tcp_.stopReading();  // the handshake goes on whatever the owner wants
}

bool StreamTransport::isReading() const {
  return tls_ == nullptr ? tcp_.isReading() : tls_->reading;
}

// ---- Input ----

void StreamTransport::onTransportData(const char* data, size_t length) {
  if (!tls_->got_input && length > 0) {
    tls_->got_input = true;
    tls_->first_byte = static_cast<unsigned char>(data[0]);
  }
  if (!tls_->saved_input.empty()) {
    tls_->saved_input.append(data, length);
    std::string input;
    input.swap(tls_->saved_input);
    tls_->input = input;
    pump();
    if (!tls_->input.empty()) tls_->saved_input.assign(tls_->input);
  } else {
    tls_->input = std::string_view(data, length);
    pump();
    // The owner paused: keep what OpenSSL did not read yet.
    if (!tls_->input.empty()) tls_->saved_input.assign(tls_->input);
  }
  tls_->input = {};
  if (tcp_.isClosing()) std::string().swap(tls_->saved_input);
}

void StreamTransport::pump() {
  if (tls_->failed || tcp_.isClosing()) return;
  if (!tls_->handshake_done) {
    clearErrors();
    const int rc = SSL_do_handshake(tls_->ssl);
    if (rc != 1) {
      if (SSL_get_error(tls_->ssl, rc) == SSL_ERROR_WANT_READ) {
        flushRecords();
        return;
      }
      handshakeFailed();
      return;
    }
    tls_->handshake_done = true;
    if (tls_->client_context == nullptr) countHandshake(HandshakeResult::kOk);
    flushRecords();
    if (!tls_->reading) tcp_.stopReading();
    if (!tls_->early_writes.empty()) {
      std::string early;
      early.swap(tls_->early_writes);
      uv_buf_t buffer = uv_buf_init(early.data(), static_cast<unsigned>(early.size()));
      encrypt(&buffer, 1);
    }
    if (tls_->client_context != nullptr) {
      tls_->owner->onTransportConnected();
      if (tcp_.isClosing()) return;
    }
  }
  // One record's plaintext at most per SSL_read (RFC 8446 §5.1: 2^14 bytes).
  char plain[16 * 1024];
  while (tls_->reading && !tls_->eof_delivered && !tls_->failed && !tcp_.isClosing()) {
    // Every byte of the read callback is consumed and OpenSSL holds neither a partial record nor
    // unread plaintext: another SSL_read_ex could only say WANT_READ. Skipping it saves ~2,200
    // instructions per read callback (the call ~1,200, clearing the error queue before it and
    // SSL_get_error after it ~1,000): 15% of what TLS costs a request of h2load -m1.
    if (tls_->input.empty() && SSL_has_pending(tls_->ssl) == 0) {
      flushRecords();  // what the last call wrote (records are per thread, not per connection)
      return;
    }
    size_t n = 0;
    clearErrors();
    const int rc = SSL_read_ex(tls_->ssl, plain, sizeof plain, &n);
    if (rc != 1) {
      const int error = SSL_get_error(tls_->ssl, rc);
      flushRecords();  // a KeyUpdate answer or an alert
      if (error == SSL_ERROR_WANT_READ) return;
      if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify: the client's EOF
        tls_->peer_eof = true;
        deliverEof();
        return;
      }
      tls_->failed = true;
      ERR_clear_error();
      tls_->owner->onTransportError(UV_EPROTO);
      return;
    }
    tls_->owner->onTransportData(plain, n);
    // The owner may have queued references into `plain` in the loop's write batch.
    core::LoopContext::of(tcp_.loop())->writeBatch().flush();
  }
}

bool StreamTransport::holdsInput() const {
  return !tls_->saved_input.empty() || SSL_has_pending(tls_->ssl) == 1;
}

void StreamTransport::handshakeFailed() {
  tls_->failed = true;
  const unsigned long error = ERR_peek_last_error();
  const bool plain_http =
      ERR_GET_LIB(error) == ERR_LIB_SSL && ERR_GET_REASON(error) == SSL_R_HTTP_REQUEST;
  if (tls_->client_context == nullptr) countHandshake(failureReason(plain_http));
  std::string reason = takeOpenSslError();
  flushRecords();  // the alert, if OpenSSL made one
  if (tls_->client_context != nullptr) {
    // A backend whose certificate does not verify is a configuration problem worth a line.
    const long verify = SSL_get_verify_result(tls_->ssl);
    if (verify != X509_V_OK) reason = X509_verify_cert_error_string(verify);
    if (!tls_->quiet_failure) {
      core::logWarn("upstream_tls_handshake_failed",
                    {{"backend", tcp_.peerAddress().toString()}, {"error", reason}});
    }
  }
  tls_->handshake_error = reason.empty() ? "handshake failed" : reason;
  if (plain_http) tcp_.write(kPlainHttpReply.data(), kPlainHttpReply.size());
  tls_->owner->onTransportError(UV_EPROTO);
}

void StreamTransport::deliverEof() {
  if (tls_->eof_delivered || !tls_->reading || tcp_.isClosing()) return;
  tls_->eof_delivered = true;
  tls_->owner->onTransportEof();
}

void StreamTransport::onTransportEof() {
  tls_->peer_eof = true;
  if (!tls_->handshake_done) {  // the peer gave up on the handshake: an error, not an empty stream
    if (!tls_->failed) countHandshake(HandshakeResult::kClosed);
    tls_->failed = true;
    tls_->owner->onTransportError(UV_ECONNRESET);
    return;
  }
  if (holdsInput()) {
    // After the bytes that came before it, on resume: startReading() scheduled one if the owner
    // reads, and a record that stays incomplete (OpenSSL holds it) must not hold the EOF back.
    if (tls_->reading) scheduleResume();
    return;
  }
  deliverEof();
}

void StreamTransport::onTransportError(int uv_status) {
  if (!tls_->handshake_done && !tls_->failed) countHandshake(HandshakeResult::kClosed);
  tls_->owner->onTransportError(uv_status);
}

void StreamTransport::onTransportWritable() { tls_->owner->onTransportWritable(); }

void StreamTransport::onTransportClosed() { tls_->owner->onTransportClosed(); }

void StreamTransport::scheduleResume() {
  if (!tls_->resume) {
    tls_->resume.init(tcp_.loop(), uv_timer_init);
    tls_->resume.get()->data = this;
  }
  uv_timer_start(tls_->resume.get(), &StreamTransport::onResume, 0, 0);
}

void StreamTransport::onResume(uv_timer_t* timer) {
  auto* self = static_cast<StreamTransport*>(timer->data);
  if (self->tcp_.isClosing()) return;
  if (self->tls_->report_failure) {
    self->tls_->report_failure = false;
    self->tls_->owner->onTransportError(UV_EPROTO);
    return;
  }
  if (!self->tls_->reading) return;
  if (self->holdsInput()) {
    std::string input;
    input.swap(self->tls_->saved_input);
    self->tls_->input = input;
    self->pump();
    if (!self->tls_->input.empty() && !self->tcp_.isClosing())
      self->tls_->saved_input.assign(self->tls_->input);
    self->tls_->input = {};
  }
  // pump() returned with the owner still reading: what OpenSSL holds, if anything, is an
  // incomplete record that the EOF ends.
  if (self->tls_->peer_eof && self->tls_->saved_input.empty()) self->deliverEof();
  core::LoopContext::of(self->tcp_.loop())->writeBatch().flush();
}

// ---- Output ----

void StreamTransport::flushRecords() {
  if (t_records.empty()) return;
  tcp_.write(t_records.data(), t_records.size());
  t_records.clear();
  if (t_records.capacity() > 1024 * 1024) std::string().swap(t_records);
}

void StreamTransport::write(const uv_buf_t* buffers, size_t count) {
  if (tls_ == nullptr) {
    tcp_.write(buffers, count);
    return;
  }
  if (tcp_.isClosing() || tls_->failed) return;
  if (!tls_->handshake_done) {
    for (size_t i = 0; i < count; ++i) tls_->early_writes.append(buffers[i].base, buffers[i].len);
    return;
  }
  encrypt(buffers, count);
}

void StreamTransport::encrypt(const uv_buf_t* buffers, size_t count) {
  // Small pieces (a head, a chunk header, a body) are gathered into full records: one record
  // per piece would cost a MAC and 22+ bytes of framing each.
  char gather[16 * 1024];
  size_t used = 0;
  bool ok = true;
  auto seal = [&](const char* data, size_t length) {
    size_t written = 0;
    if (ok && SSL_write_ex(tls_->ssl, data, length, &written) != 1) ok = false;
  };
  for (size_t i = 0; i < count; ++i) {
    const char* data = buffers[i].base;
    size_t left = buffers[i].len;
    if (used == 0 && left >= sizeof gather) {
      seal(data, left);  // large: OpenSSL cuts it into full records itself
      continue;
    }
    while (left > 0) {
      const size_t take = std::min(left, sizeof gather - used);
      std::memcpy(gather + used, data, take);
      used += take;
      data += take;
      left -= take;
      if (used == sizeof gather) {
        seal(gather, used);
        used = 0;
      }
    }
  }
  if (used > 0) seal(gather, used);
  flushRecords();
  if (!ok) {
    // Only after a fatal alert or a shutdown; tell the owner outside its write call.
    ERR_clear_error();
    tls_->failed = true;
    tls_->report_failure = true;
    scheduleResume();
  }
}

size_t StreamTransport::pendingWriteBytes() const {
  return core::LoopContext::of(tcp_.loop())->writeBatch().pendingFor(this) +
         tcp_.pendingWriteBytes() + (tls_ != nullptr ? tls_->early_writes.size() : 0);
}

void StreamTransport::sendCloseNotify() {
  if (tls_ == nullptr || !tls_->handshake_done || tls_->failed || tcp_.isClosing()) return;
  core::LoopContext::of(tcp_.loop())->writeBatch().flush();  // the response before close_notify
  ERR_clear_error();
  SSL_shutdown(tls_->ssl);  // sends close_notify (RFC 8446 §6.1); the answer is not awaited
  ERR_clear_error();
  flushRecords();
}

void StreamTransport::shutdownWrite() {
  sendCloseNotify();
  tcp_.shutdownWrite();  // flushes the batch (close_notify included) before the FIN
}

void StreamTransport::closeCleanly() {
  sendCloseNotify();
  // Written now (a few bytes into an emptied socket), before close() drops what is batched.
  core::LoopContext::of(tcp_.loop())->writeBatch().flush();
  close();
}

void StreamTransport::close() {
  core::LoopContext::of(tcp_.loop())->writeBatch().forget(this);
  if (tls_ != nullptr) tls_->resume.reset();
  tcp_.close();
}

void StreamTransport::abort() {
  core::LoopContext::of(tcp_.loop())->writeBatch().forget(this);
  if (tls_ != nullptr) tls_->resume.reset();
  tcp_.abort();
}

}  // namespace sy::tls
