// TcpTransport over real loopback sockets: the edges of core/transport.h's contract that the
// proxy's integration tests rarely reach (partial writes under backpressure, a FIN after queued
// bytes, errors reported from the loop, a peer's RST, RST on abort).

#include "core/tcp_transport.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/loop_context.h"
#include "core/net_address.h"
#include "gtest/gtest.h"
#include "tests/support/loop_until.h"

namespace sy::core {
namespace {

class TcpTransportRecorder final : public TransportCallbacks {
 public:
  void onTransportData(const char* data, size_t length) override { received.append(data, length); }
  void onTransportEof() override { ++eofs; }
  void onTransportError(int uv_status) override {
    ++errors;
    last_error = uv_status;
  }
  void onTransportConnected() override { ++connects; }
  void onTransportWritable() override { ++writables; }
  void onTransportClosed() override { ++closes; }

  std::string received;
  int eofs = 0;
  int errors = 0;
  int last_error = 0;
  int connects = 0;
  int writables = 0;
  int closes = 0;
};

// A loop with its LoopContext (the transports' shared read buffer and write batch), a timer that
// wakes it up so the test can look at the peer socket between iterations, and a loopback
// listener whose accepted sockets are the test's side of each connection.
class TcpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    context_ = std::make_unique<LoopContext>(&loop_);
    uv_timer_init(&loop_, &tick_);
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
  }

  void TearDown() override {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    context_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done` holds, for at most 20 seconds.
  bool runUntil(const std::function<bool()>& done) {
    return sy::testing::runLoopUntil(&loop_, done);
  }

  NetAddress listen(const char* host_port = "127.0.0.1:0") {
    absl::StatusOr<NetAddress> parsed = NetAddress::parse(host_port, false);
    if (!parsed.ok()) return {};
    const NetAddress address = *parsed;
    listen_fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return {};
    // A small receive window (accepted sockets inherit it): a peer that does not read makes
    // the transport's writes partial soon.
    const int window = 64 * 1024;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &window, sizeof window);
    if (::bind(listen_fd_, address.sockaddr_ptr(), address.length()) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
      return {};
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    return NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }

  // Connects `transport` to a fresh listener and returns the accepted peer (non-blocking).
  int connectPair(TcpTransport& transport, TcpTransportRecorder& recorder,
                  const char* host_port = "127.0.0.1:0") {
    const NetAddress address = listen(host_port);
    if (listen_fd_ < 0) return -1;
    transport.setCallbacks(&recorder);
    if (transport.connect(address) != 0) return -1;
    if (!runUntil([&] { return recorder.connects + recorder.errors > 0; })) return -1;
    if (recorder.connects != 1) return -1;
    const int peer = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return peer;
  }

  // Reads what the peer socket has now (non-blocking). Returns false once it read EOF.
  static bool drainPeer(int peer, std::string* into, int* error = nullptr) {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(peer, buffer, sizeof buffer);
      if (n > 0) {
        into->append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return false;
      if (errno != EAGAIN && error != nullptr) *error = errno;
      return errno == EAGAIN;
    }
  }

  static std::string tcpTransportPattern(size_t size) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return bytes;
  }

  void closeAndWait(TcpTransport& transport, TcpTransportRecorder& recorder) {
    transport.close();
    EXPECT_EQ(recorder.closes, 0) << "onTransportClosed must come from the loop";
    EXPECT_TRUE(runUntil([&] { return recorder.closes == 1; }));
  }

  uv_loop_t loop_{};
  std::unique_ptr<LoopContext> context_;
  uv_timer_t tick_{};
  int listen_fd_ = -1;
};

TEST_F(TcpTransportTest, ReadsDataThenEof) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  ASSERT_EQ(transport.startReading(), 0);
  // More than the shared read buffer holds: several reads, in order.
  const std::string sent = tcpTransportPattern(300 * 1024);
  size_t offset = 0;
  ASSERT_TRUE(runUntil([&] {
    while (offset < sent.size()) {
      const ssize_t n = ::write(peer, sent.data() + offset, sent.size() - offset);
      if (n <= 0) break;
      offset += static_cast<size_t>(n);
    }
    return offset == sent.size();
  }));
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return recorder.eofs == 1; }));
  EXPECT_EQ(recorder.received, sent);
  EXPECT_EQ(recorder.errors, 0);
  EXPECT_FALSE(transport.isReading());
  closeAndWait(transport, recorder);
  ::close(peer);
}

TEST_F(TcpTransportTest, StoppedReadingDeliversNothingUntilStarted) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  ASSERT_EQ(transport.startReading(), 0);
  transport.stopReading();
  ASSERT_EQ(::write(peer, "held", 4), 4);  // in the transport's receive buffer on return
  for (int i = 0; i < 5; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_TRUE(recorder.received.empty());
  ASSERT_EQ(transport.startReading(), 0);
  ASSERT_TRUE(runUntil([&] { return recorder.received == "held"; }));
  closeAndWait(transport, recorder);
  ::close(peer);
}

TEST_F(TcpTransportTest, PartialWriteQueuesRaisesWatermarkAndResumes) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  // A peer that does not read: the kernel takes only part of a 4 MiB write.
  const std::string sent = tcpTransportPattern(4 * 1024 * 1024);
  uv_buf_t halves[2] = {uv_buf_init(const_cast<char*>(sent.data()), 1024 * 1024),
                        uv_buf_init(const_cast<char*>(sent.data()) + 1024 * 1024, 3 * 1024 * 1024)};
  transport.write(halves, 2);
  ASSERT_GT(transport.pendingWriteBytes(), Transport::kHighWatermark);
  EXPECT_TRUE(transport.aboveHighWatermark());
  EXPECT_EQ(recorder.writables, 0);
  // The caller's buffers may be reused at once: what was queued is a copy.
  std::string received;
  ASSERT_TRUE(runUntil([&] {
    drainPeer(peer, &received);
    return received.size() == sent.size();
  }));
  EXPECT_EQ(received, sent);
  EXPECT_EQ(recorder.writables, 1);
  EXPECT_EQ(transport.pendingWriteBytes(), 0u);
  EXPECT_EQ(recorder.errors, 0);
  // Once drained, writes go straight to the socket again.
  transport.write("after", 5);
  EXPECT_EQ(transport.pendingWriteBytes(), 0u);
  received.clear();
  ASSERT_TRUE(runUntil([&] {
    drainPeer(peer, &received);
    return received == "after";
  }));
  closeAndWait(transport, recorder);
  ::close(peer);
}

TEST_F(TcpTransportTest, ShutdownWriteSendsFinAfterQueuedBytes) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  // Written until the kernel refuses part of it (the peer does not read yet).
  const std::string chunk = tcpTransportPattern(1024 * 1024);
  std::string sent;
  for (int i = 0; i < 64 && transport.pendingWriteBytes() == 0; ++i) {
    transport.write(chunk.data(), chunk.size());
    sent += chunk;
  }
  EXPECT_GT(transport.pendingWriteBytes(), 0u);
  transport.shutdownWrite();
  std::string received;
  bool open = true;
  ASSERT_TRUE(runUntil([&] {
    open = drainPeer(peer, &received);
    return !open;
  }));
  EXPECT_EQ(received, sent);  // every byte before the FIN
  EXPECT_EQ(recorder.errors, 0);
  // The transport still reads after its FIN: the peer's answer and EOF arrive.
  ASSERT_EQ(transport.startReading(), 0);
  ASSERT_EQ(::write(peer, "bye", 3), 3);
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return recorder.eofs == 1; }));
  EXPECT_EQ(recorder.received, "bye");
  closeAndWait(transport, recorder);
  ::close(peer);
}

TEST_F(TcpTransportTest, ShutdownWriteWhileConnectingWaitsForTheConnection) {
  const NetAddress address = listen();
  ASSERT_GE(listen_fd_, 0);
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  transport.setCallbacks(&recorder);
  ASSERT_EQ(transport.connect(address), 0);
  transport.write("early", 5);  // queued until connected
  transport.shutdownWrite();
  ASSERT_TRUE(runUntil([&] { return recorder.connects == 1; }));
  const int peer = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_GE(peer, 0);
  std::string received;
  ASSERT_TRUE(runUntil([&] { return !drainPeer(peer, &received); }));
  EXPECT_EQ(received, "early");
  closeAndWait(transport, recorder);
  ::close(peer);
}

TEST_F(TcpTransportTest, RefusedConnectIsReportedFromTheLoop) {
  // A port nobody listens on: bound, then closed.
  const NetAddress address = listen();
  ASSERT_GE(listen_fd_, 0);
  ::close(listen_fd_);
  listen_fd_ = -1;
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  transport.setCallbacks(&recorder);
  transport.write("lost", 4);
  ASSERT_EQ(transport.connect(address), 0);
  EXPECT_EQ(recorder.errors, 0) << "errors must not be reported from inside connect()";
  ASSERT_TRUE(runUntil([&] { return recorder.errors > 0; }));
  EXPECT_EQ(recorder.errors, 1);
  EXPECT_EQ(recorder.last_error, UV_ECONNREFUSED);
  EXPECT_EQ(recorder.connects, 0);
  EXPECT_EQ(transport.pendingWriteBytes(), 0u);
  closeAndWait(transport, recorder);
}

TEST_F(TcpTransportTest, PeerResetIsAnErrorNotEof) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  ASSERT_EQ(transport.startReading(), 0);
  const linger reset{1, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(peer);
  ASSERT_TRUE(runUntil([&] { return recorder.errors + recorder.eofs > 0; }));
  EXPECT_EQ(recorder.errors, 1);
  EXPECT_EQ(recorder.last_error, UV_ECONNRESET);
  EXPECT_EQ(recorder.eofs, 0);
  closeAndWait(transport, recorder);
}

TEST_F(TcpTransportTest, WriteToResetPeerReportsTheErrorFromTheLoop) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  const int peer = connectPair(transport, recorder);
  ASSERT_GE(peer, 0);
  const linger reset{1, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(peer);  // the RST is in the transport's socket when close() returns (loopback)
  transport.write("into the void", 13);
  EXPECT_EQ(recorder.errors, 0) << "errors must not be reported from inside write()";
  ASSERT_TRUE(runUntil([&] { return recorder.errors > 0; }));
  EXPECT_EQ(recorder.errors, 1);
  EXPECT_TRUE(recorder.last_error == UV_ECONNRESET || recorder.last_error == UV_EPIPE)
      << uv_err_name(recorder.last_error);
  closeAndWait(transport, recorder);
}

TEST_F(TcpTransportTest, AbortSendsResetAndCloseSendsFin) {
  TcpTransport aborted(&loop_);
  TcpTransportRecorder aborted_recorder;
  const int aborted_peer = connectPair(aborted, aborted_recorder);
  ASSERT_GE(aborted_peer, 0);
  ::close(listen_fd_);
  listen_fd_ = -1;
  aborted.abort();
  EXPECT_EQ(aborted_recorder.closes, 0);
  ASSERT_TRUE(runUntil([&] { return aborted_recorder.closes == 1; }));
  std::string ignored;
  int error = 0;
  drainPeer(aborted_peer, &ignored, &error);
  EXPECT_EQ(error, ECONNRESET);
  ::close(aborted_peer);

  TcpTransport closed(&loop_);
  TcpTransportRecorder closed_recorder;
  const int closed_peer = connectPair(closed, closed_recorder);
  ASSERT_GE(closed_peer, 0);
  closed.write("last words", 10);
  closeAndWait(closed, closed_recorder);
  std::string received;
  error = 0;
  EXPECT_FALSE(drainPeer(closed_peer, &received, &error));  // EOF
  EXPECT_EQ(error, 0);
  EXPECT_EQ(received, "last words");
  ::close(closed_peer);
}

TEST_F(TcpTransportTest, AdoptedSocketOverIpv6) {
  const NetAddress address = listen("[::1]:0");
  if (listen_fd_ < 0) GTEST_SKIP() << "no IPv6 loopback here";
  const int client = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  ASSERT_EQ(::connect(client, address.sockaddr_ptr(), address.length()), 0);
  const int accepted = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  transport.setCallbacks(&recorder);
  ASSERT_EQ(transport.adopt(accepted), 0);
  EXPECT_EQ(transport.peerAddress().family(), AF_INET6);
  ASSERT_EQ(transport.startReading(), 0);
  ASSERT_EQ(::write(client, "ping", 4), 4);
  ASSERT_TRUE(runUntil([&] { return recorder.received == "ping"; }));
  transport.write("pong", 4);
  char answer[4];
  ASSERT_EQ(::read(client, answer, sizeof answer), 4);
  EXPECT_EQ(std::string(answer, 4), "pong");
  closeAndWait(transport, recorder);
  ::close(client);
}

TEST_F(TcpTransportTest, ClosingAnUnopenedTransportReportsFromTheLoop) {
  TcpTransport transport(&loop_);
  TcpTransportRecorder recorder;
  transport.setCallbacks(&recorder);
  closeAndWait(transport, recorder);
}

}  // namespace
}  // namespace sy::core
