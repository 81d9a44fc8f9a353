// Every timeout of the proxy, each provoked on purpose: connect_timeout, response_timeout and
// idle_timeout towards backends; header_timeout, client_timeout and keepalive_timeout towards
// clients. Each is set to a few hundred milliseconds and checked for both its effect and its
// timing.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr long kTimeoutMs = 300;
// Timers fire on the loop's clock, late rather than early; allow for a loaded CI machine.
constexpr long kEarlyMs = 50;
constexpr long kLateMs = 1500;

// A listening socket that never accepts, with its accept queue full: the kernel drops further
// SYNs, so a connection attempt hangs until the connecting side gives up.
class FullBacklogListener {
 public:
  FullBacklogListener() {
    listen_fd_ = listenOnLoopback(0, &port_);
    if (listen_fd_ < 0) return;
    // Connect until an attempt no longer completes: from then on the queue is full.
    for (int i = 0; i < 16 && !full_; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(port_);
      fillers_.push_back(fd);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) continue;
      pollfd entry{fd, POLLOUT, 0};
      full_ = ::poll(&entry, 1, 200) == 0;
    }
  }
  ~FullBacklogListener() {
    for (int fd : fillers_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  bool full() const { return full_; }
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  bool full_ = false;
  std::vector<int> fillers_;
};

class ProxyTimeoutTest : public ProxyTest {
 protected:
  static void expectTimely(long elapsed_ms, long timeout_ms) {
    EXPECT_GE(elapsed_ms, timeout_ms - kEarlyMs);
    EXPECT_LT(elapsed_ms, timeout_ms + kLateMs);
  }
};

TEST_F(ProxyTimeoutTest, ConnectTimeoutGives504) {
  FullBacklogListener blackhole;
  ASSERT_TRUE(blackhole.full()) << "could not fill the accept queue";
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {blackhole.port()},
                                      .pool = "connect_timeout = \"300ms\"",
                                      .route = "retries = 0"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  std::optional<Response> response = client.request("GET", "/");
  const long elapsed = elapsedMs(begin);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 504);
  EXPECT_EQ(response->header("Server"), "switchyard");
  expectTimely(elapsed, kTimeoutMs);
}

TEST_F(ProxyTimeoutTest, ConnectTimeoutIsRetriedOnAnotherBackend) {
  FullBacklogListener blackhole;
  ASSERT_TRUE(blackhole.full()) << "could not fill the accept queue";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy(
      {.backends = {blackhole.port(), backendPort(0)}, .pool = "connect_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 4; ++i) {
    std::optional<Response> response = client.request("POST", "/echo", {}, "body");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 200) << response->body;
  }
}

TEST_F(ProxyTimeoutTest, ResponseTimeoutGives504AndIsNotRetried) {
  // The backend would otherwise hold its exit until the abandoned delay ran out.
  ASSERT_NO_FATAL_FAILURE(startBackend("blue", {"--shutdown-grace", "100ms"}));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .pool = "response_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  std::optional<Response> response = client.request("GET", "/delay/3000");
  const long elapsed = elapsedMs(begin);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 504);
  EXPECT_EQ(response->header("Server"), "switchyard");
  expectTimely(elapsed, kTimeoutMs);
  EXPECT_EQ(stats(0).requests, 1u) << "a response timeout must not be retried";
  // The client connection survives a 504 for a complete request.
  std::optional<Response> next = client.request("GET", "/");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->status, 200);
}

TEST_F(ProxyTimeoutTest, IdleTimeoutCutsAStalledResponse) {
  RawServer backend("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Stall: yes\r\n\r\n0123456789");
  ASSERT_TRUE(backend.ready());
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backend.port()}, .pool = "idle_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/")));
  // The head and the first bytes arrive; then the proxy can only cut the connection.
  const std::string head_and_start = client.readRaw(1 << 20, milliseconds(200));
  EXPECT_THAT(head_and_start, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head_and_start, HasSubstr("X-Stall: yes\r\n"));
  EXPECT_THAT(head_and_start, HasSubstr("\r\n\r\n0123456789"));
  const Clock::time_point begin = Clock::now();
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(kTimeoutMs + kLateMs))) << client.lastError();
  expectTimely(elapsedMs(begin) + 200, kTimeoutMs);
  // The backend connection is dropped too, not left stalled.
  EXPECT_TRUE(waitUntil([&] { return backend.clientClosed(); }, milliseconds(2000)));
}

TEST_F(ProxyTimeoutTest, HeaderTimeoutGives408AndCloses) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .listener = "header_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(client.sendRaw("GET / HTTP/1.1\r\nHost: example.com\r\nX-Half: "));
  std::optional<Response> response = client.readResponse();
  const long elapsed = elapsedMs(begin);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->header("Connection"), "close");
  expectTimely(elapsed, kTimeoutMs);
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(2000))) << client.lastError();
  EXPECT_EQ(stats(0).requests, 0u);
}

TEST_F(ProxyTimeoutTest, HeaderTimeoutAppliesToAConnectionThatSendsNothing) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .listener = "header_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(kTimeoutMs + kLateMs))) << client.lastError();
  expectTimely(elapsedMs(begin), kTimeoutMs);
}

TEST_F(ProxyTimeoutTest, ClientTimeoutGives408ForAStalledBody) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .listener = "client_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(client.sendRaw(client.buildRequest("POST", "/echo", {{"Content-Length", "100"}}) +
                             "0123456789"));
  std::optional<Response> response = client.readResponse();
  const long elapsed = elapsedMs(begin);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->header("Server"), "switchyard");
  EXPECT_EQ(response->header("Connection"), "close");
  expectTimely(elapsed, kTimeoutMs);
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(2000))) << client.lastError();
}

TEST_F(ProxyTimeoutTest, KeepAliveTimeoutClosesAnIdleClient) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .listener = "keepalive_timeout = \"300ms\""}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> response = client.request("GET", "/");
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_TRUE(response->keep_alive);
  const Clock::time_point begin = Clock::now();
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(kTimeoutMs + kLateMs))) << client.lastError();
  expectTimely(elapsedMs(begin), kTimeoutMs);
  EXPECT_FALSE(client.peerReset());

  // A connection that keeps making requests within the timeout stays open past it.
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 6; ++i) {
    std::optional<Response> again = client.request("GET", "/delay/100");
    ASSERT_TRUE(again.has_value()) << "request " << i << ": " << client.lastError();
    EXPECT_EQ(again->status, 200);
  }
}

}  // namespace
}  // namespace sy::testing
