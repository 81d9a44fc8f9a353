// Session ticket keys (tls/ticket_keys.h): a ticket resumes after one rotation (the previous key
// still decrypts) and not after two; a context built around the same ring (a reload) resumes
// tickets of the one before, a context with a ring of its own does not. Handshakes run in
// memory between an OpenSSL client and ServerContext::newSsl(), over a BIO pair, so the
// rotations happen exactly where the test says.

#include "tls/ticket_keys.h"

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_certificates.h"
#include "tls/server_context.h"

namespace sy::tls {
namespace {

using testing::KeyType;
using testing::TestCertificates;

struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

struct Outcome {
  bool ok = false;
  bool resumed = false;
  SessionPtr session;  // the newest ticket this handshake brought; null when none came
};

std::string ticketOf(const SSL_SESSION* session) {
  const unsigned char* ticket = nullptr;
  size_t length = 0;
  if (session != nullptr) SSL_SESSION_get0_ticket(session, &ticket, &length);
  return std::string(reinterpret_cast<const char*>(ticket), ticket != nullptr ? length : 0);
}

class TicketKeysTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    auto created = TestCertificates::create();
    ASSERT_TRUE(created.ok()) << created.status();
    certificates_ = std::move(*created);
    auto leaf = certificates_->issue("site", KeyType::kEcdsa, {"site.test"});
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    settings_.certificates = {{leaf->cert, leaf->key}};
  }
  static void TearDownTestSuite() { certificates_.reset(); }

  void SetUp() override {
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(client_ctx_, nullptr);
    SSL_CTX_set_min_proto_version(client_ctx_, GetParam());
    SSL_CTX_set_max_proto_version(client_ctx_, GetParam());
    // New tickets come through the callback (SSL_get1_session would return the offered session
    // after a resumption that brought no new ticket).
    SSL_CTX_set_session_cache_mode(client_ctx_,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(client_ctx_, [](SSL* ssl, SSL_SESSION* session) {
      auto* self = static_cast<TicketKeysTest*>(SSL_get_app_data(ssl));
      self->latest_.reset(session);
      return 1;  // the session is ours now
    });
  }
  void TearDown() override { SSL_CTX_free(client_ctx_); }

  // One handshake against `server`, offering `session` when given; then the client reads what
  // the server sent after it (TLS 1.3 tickets come after the handshake).
  Outcome handshake(const ServerContext& server, SSL_SESSION* session = nullptr) {
    Outcome outcome;
    SSL* client = SSL_new(client_ctx_);
    SSL* accepted = server.newSsl();
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_bio(accepted, server_bio, server_bio);
    SSL_set_connect_state(client);
    SSL_set_accept_state(accepted);
    SSL_set_tlsext_host_name(client, "site.test");
    SSL_set_app_data(client, this);
    latest_.reset();
    // A copy: OpenSSL marks a TLS 1.3 session it offered as used (RFC 8446 §C.4), and the test
    // offers the same one several times on purpose.
    SessionPtr offered(session != nullptr ? SSL_SESSION_dup(session) : nullptr);
    if (offered != nullptr) SSL_set_session(client, offered.get());
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
      if (!client_done) client_done = SSL_do_handshake(client) == 1;
      if (!server_done) server_done = SSL_do_handshake(accepted) == 1;
    }
    if (client_done && server_done) {
      char byte = 0;
      SSL_read(client, &byte, 1);  // WANT_READ once the tickets are in
      outcome.ok = true;
      outcome.resumed = SSL_session_reused(client) == 1;
      outcome.session = std::move(latest_);
      // A resumed TLS 1.2 client puts a new ticket into the session in place, without the
      // callback: a ticket other than the one offered is new.
      if (outcome.session == nullptr && outcome.resumed) {
        SessionPtr current(SSL_get1_session(client));
        if (ticketOf(current.get()) != ticketOf(offered.get()))
          outcome.session = std::move(current);
      }
    }
    // Freed without a close_notify, a session counts as broken and could not be resumed.
    SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(client);
    SSL_free(accepted);
    return outcome;
  }

  static std::unique_ptr<TestCertificates> certificates_;
  static ServerSettings settings_;
  SSL_CTX* client_ctx_ = nullptr;
  SessionPtr latest_;
};

std::unique_ptr<TestCertificates> TicketKeysTest::certificates_;
ServerSettings TicketKeysTest::settings_;

TEST_P(TicketKeysTest, ResumesAfterOneRotationAndNotAfterTwo) {
  auto server = ServerContext::create(settings_);
  ASSERT_TRUE(server.ok()) << server.status();
  Outcome first = handshake(**server);
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(first.resumed);
  ASSERT_NE(first.session, nullptr);
  ASSERT_EQ(SSL_SESSION_is_resumable(first.session.get()), 1);

  Outcome before_rotation = handshake(**server, first.session.get());
  ASSERT_TRUE(before_rotation.ok);
  EXPECT_TRUE(before_rotation.resumed);
  if (GetParam() == TLS1_3_VERSION) {
    // A resumed connection gets a ticket of its own (TLS 1.3 clients use each ticket once).
    ASSERT_NE(before_rotation.session, nullptr);
    EXPECT_TRUE(handshake(**server, before_rotation.session.get()).resumed);
  } else {
    EXPECT_EQ(before_rotation.session, nullptr) << "a TLS 1.2 ticket under the current key stays";
  }

  (*server)->ticketKeys()->rotate();
  Outcome after_one = handshake(**server, first.session.get());
  ASSERT_TRUE(after_one.ok);
  EXPECT_TRUE(after_one.resumed) << "the previous key must still decrypt";

  (*server)->ticketKeys()->rotate();
  Outcome after_two = handshake(**server, first.session.get());
  ASSERT_TRUE(after_two.ok);
  EXPECT_FALSE(after_two.resumed) << "a ticket two keys old must get a full handshake";
  EXPECT_EQ((*server)->ticketKeys()->rotations(), 2u);

  // The resumption after one rotation came with a new ticket under the key current then,
  // which the second rotation kept.
  ASSERT_NE(after_one.session, nullptr);
  Outcome renewed = handshake(**server, after_one.session.get());
  ASSERT_TRUE(renewed.ok);
  EXPECT_TRUE(renewed.resumed);
}

TEST_P(TicketKeysTest, ANewContextWithTheSameRingResumesTicketsOfTheOldOne) {
  auto running = ServerContext::create(settings_);
  ASSERT_TRUE(running.ok()) << running.status();
  Outcome first = handshake(**running);
  ASSERT_TRUE(first.ok);
  ASSERT_NE(first.session, nullptr);

  auto reloaded = ServerContext::create(settings_, (*running)->ticketKeys());
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(handshake(**reloaded, first.session.get()).resumed);

  auto unrelated = ServerContext::create(settings_);
  ASSERT_TRUE(unrelated.ok()) << unrelated.status();
  Outcome other = handshake(**unrelated, first.session.get());
  ASSERT_TRUE(other.ok);
  EXPECT_FALSE(other.resumed);
}

INSTANTIATE_TEST_SUITE_P(Versions, TicketKeysTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return param_info.param == TLS1_3_VERSION ? std::string("Tls13")
                                                                     : std::string("Tls12");
                         });

}  // namespace
}  // namespace sy::tls
