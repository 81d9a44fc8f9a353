// StreamTransport as a TLS server over real loopback sockets, against an OpenSSL client in the
// test: the input that arrives while the owner has paused reading. With read-ahead OpenSSL takes
// every record of a read callback into its own buffer at once, so records the owner did not get
// before it paused wait inside OpenSSL, not in the socket (nothing wakes the loop up for them)
// and not in the transport's saved input: startReading() must deliver them all the same, and an
// EOF must come after them, never before and never be held back by an incomplete record.

#include "tls/stream_transport.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop_context.h"
#include "core/transport.h"
#include "gtest/gtest.h"
#include "tests/support/loop_until.h"
#include "tests/support/test_certificates.h"
#include "tls/server_context.h"

namespace sy::tls {
namespace {

using testing::KeyType;
using testing::TestCertificates;

// The owner: records what arrives, and pauses reading once `pause_at` bytes have come.
class PausingOwner final : public core::TransportCallbacks {
 public:
  void onTransportData(const char* data, size_t length) override {
    EXPECT_TRUE(transport->isReading()) << "data delivered to an owner that paused";
    received.append(data, length);
    if (pause_at != 0 && received.size() >= pause_at) {
      pause_at = 0;
      transport->stopReading();
    }
  }
  void onTransportEof() override {
    ++eofs;
    received_at_eof = received.size();
  }
  void onTransportError(int uv_status) override {
    ++errors;
    last_error = uv_status;
  }
  void onTransportClosed() override { ++closes; }

  StreamTransport* transport = nullptr;
  std::string received;
  size_t pause_at = 0;
  int eofs = 0;
  size_t received_at_eof = 0;
  int errors = 0;
  int last_error = 0;
  int closes = 0;
};

class StreamTransportTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    auto created = TestCertificates::create();
    ASSERT_TRUE(created.ok()) << created.status();
    certificates_ = std::move(*created);
    auto leaf = certificates_->issue("site", KeyType::kEcdsa, {"site.test"});
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    ServerSettings settings;
    settings.certificates = {{leaf->cert, leaf->key}};
    auto context = ServerContext::create(settings);
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *context;
  }
  static void TearDownTestSuite() {
    context_.reset();
    certificates_.reset();
  }

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    loop_context_ = std::make_unique<core::LoopContext>(&loop_);
    uv_timer_init(&loop_, &tick_);
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    transport_ = std::make_unique<StreamTransport>(&loop_);
    owner_.transport = transport_.get();
    transport_->setCallbacks(&owner_);
    ASSERT_NO_FATAL_FAILURE(connectClient());
  }

  void TearDown() override {
    if (transport_ != nullptr && !transport_->isClosing()) transport_->close();
    runUntil([&] { return owner_.closes == 1; });
    transport_.reset();
    if (client_ != nullptr) SSL_free(client_);
    if (client_ctx_ != nullptr) SSL_CTX_free(client_ctx_);
    if (client_fd_ >= 0) ::close(client_fd_);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    loop_context_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done` holds, for at most 20 seconds.
  bool runUntil(const std::function<bool()>& done) {
    return sy::testing::runLoopUntil(&loop_, done);
  }

  // A loopback connection: the server side adopted by the transport (TLS with the suite's
  // context), the client side an OpenSSL client whose records go to a memory BIO first, so the
  // test decides when, and how much of them, reaches the socket. Completes the handshake.
  void connectClient() {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    client_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(client_fd_, 0);
    const int rc = ::connect(client_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS);
    const int accepted = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::close(listener);
    ASSERT_GE(accepted, 0);
    ASSERT_EQ(transport_->adopt(accepted, context_), 0);
    ASSERT_EQ(transport_->startReading(), 0);

    client_ctx_ = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(client_ctx_, nullptr);
    SSL_CTX_set_min_proto_version(client_ctx_, GetParam());
    SSL_CTX_set_max_proto_version(client_ctx_, GetParam());
    client_ = SSL_new(client_ctx_);
    ASSERT_NE(client_, nullptr);
    BIO* from_server = BIO_new_socket(client_fd_, BIO_NOCLOSE);
    written_ = BIO_new(BIO_s_mem());
    SSL_set_bio(client_, from_server, written_);
    bool failed = false;
    ASSERT_TRUE(runUntil([&] {
      const int result = SSL_connect(client_);
      sendWritten();
      if (result == 1) return true;
      failed = SSL_get_error(client_, result) != SSL_ERROR_WANT_READ;
      return failed;
    }));
    ASSERT_FALSE(failed) << "client handshake failed";
    // One record through, so that the server's side of the handshake is over too.
    ASSERT_TRUE(seal("hello"));
    sendWritten();
    ASSERT_TRUE(runUntil([&] { return owner_.received == "hello" || owner_.errors > 0; }));
    ASSERT_EQ(owner_.errors, 0);
    owner_.received.clear();
  }

  // Encrypts `plaintext` as one record into the client's memory BIO (not sent yet).
  bool seal(std::string_view plaintext) {
    size_t n = 0;
    return SSL_write_ex(client_, plaintext.data(), plaintext.size(), &n) == 1;
  }

  // What the client sealed, all of it or its first `limit` bytes, to the socket in one write.
  void sendWritten(size_t limit = SIZE_MAX) {
    char* data = nullptr;
    const long pending = BIO_get_mem_data(written_, &data);
    if (pending <= 0) return;
    const size_t length = std::min(static_cast<size_t>(pending), limit);
    ASSERT_EQ(::send(client_fd_, data, length, MSG_NOSIGNAL), static_cast<ssize_t>(length));
    std::string rest(data + length, static_cast<size_t>(pending) - length);
    (void)BIO_reset(written_);
    if (!rest.empty()) BIO_write(written_, rest.data(), static_cast<int>(rest.size()));
  }

  // A few loop iterations: enough for anything the transport could deliver now to arrive.
  void spin() {
    for (int i = 0; i < 5; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  }

  static std::unique_ptr<TestCertificates> certificates_;
  static std::shared_ptr<const ServerContext> context_;
  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> loop_context_;
  uv_timer_t tick_{};
  PausingOwner owner_;
  std::unique_ptr<StreamTransport> transport_;
  int client_fd_ = -1;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* client_ = nullptr;
  BIO* written_ = nullptr;  // owned by client_
};

std::unique_ptr<TestCertificates> StreamTransportTest::certificates_;
std::shared_ptr<const ServerContext> StreamTransportTest::context_;

TEST_P(StreamTransportTest, RecordsThatArrivedWithTheOneBeforeAPauseComeAfterIt) {
  // Three records in one TCP write: one read callback brings all of them.
  ASSERT_TRUE(seal("one,") && seal("two,") && seal("three"));
  owner_.pause_at = 4;
  sendWritten();
  ASSERT_TRUE(runUntil([&] { return !owner_.received.empty(); }));
  spin();
  EXPECT_EQ(owner_.received, "one,") << "nothing while the owner pauses";
  EXPECT_FALSE(transport_->isReading());

  ASSERT_EQ(transport_->startReading(), 0);
  EXPECT_TRUE(runUntil([&] { return owner_.received == "one,two,three" || owner_.errors > 0; }))
      << "records held while paused never came: " << owner_.received;
  EXPECT_EQ(owner_.errors, 0);

  // And the connection goes on as before.
  ASSERT_TRUE(seal(",four"));
  sendWritten();
  EXPECT_TRUE(runUntil([&] { return owner_.received == "one,two,three,four"; }));
}

TEST_P(StreamTransportTest, AnEofAfterRecordsHeldInAPauseComesAfterThem) {
  ASSERT_TRUE(seal("one,") && seal("two,") && seal("three"));
  owner_.pause_at = 4;
  sendWritten();
  ASSERT_EQ(::shutdown(client_fd_, SHUT_WR), 0);
  ASSERT_TRUE(runUntil([&] { return !owner_.received.empty(); }));
  spin();
  EXPECT_EQ(owner_.eofs, 0) << "no EOF while the owner pauses";

  ASSERT_EQ(transport_->startReading(), 0);
  EXPECT_TRUE(runUntil([&] { return owner_.eofs > 0 || owner_.errors > 0; }));
  EXPECT_EQ(owner_.received, "one,two,three");
  EXPECT_EQ(owner_.eofs, 1);
  EXPECT_EQ(owner_.received_at_eof, owner_.received.size()) << "the EOF came before the data";
  EXPECT_EQ(owner_.errors, 0);
}

TEST_P(StreamTransportTest, AnEofEndsAnIncompleteRecord) {
  // A whole record, then the first half of another, then the FIN: OpenSSL holds the half
  // record for good, and the EOF must not wait for the rest of it.
  ASSERT_TRUE(seal("whole"));
  sendWritten();
  ASSERT_TRUE(runUntil([&] { return owner_.received == "whole"; }));
  ASSERT_TRUE(seal("cut short"));
  char* data = nullptr;
  const long sealed = BIO_get_mem_data(written_, &data);
  ASSERT_GT(sealed, 10);
  sendWritten(static_cast<size_t>(sealed) / 2);
  ASSERT_EQ(::shutdown(client_fd_, SHUT_WR), 0);
  EXPECT_TRUE(runUntil([&] { return owner_.eofs > 0 || owner_.errors > 0; }));
  EXPECT_EQ(owner_.eofs + owner_.errors, 1);
  EXPECT_EQ(owner_.received, "whole");
}

INSTANTIATE_TEST_SUITE_P(Versions, StreamTransportTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<int>& version) {
                           return version.param == TLS1_3_VERSION ? "Tls13" : "Tls12";
                         });

}  // namespace
}  // namespace sy::tls
