// Probe: one HTTP or TCP health check against a real local server (a blocking one on a thread
// of the test), on a real libuv loop.

#include "health/probe.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "core/loop_context.h"
#include "core/net_address.h"
#include "core/timeout_queue.h"
#include "gtest/gtest.h"
#include "routing/config/model.h"

namespace sy::health {
namespace {

using routing::config::HealthCheckConfig;

// Accepts connections one at a time on 127.0.0.1:0. For each: reads the request head (unless
// the mode says otherwise), records it, then acts according to `mode`.
class TinyServer {
 public:
  enum class Mode {
    kRespond,      // read the head, send `response`, close
    kHang,         // read the head, answer nothing; close when the client does (or at stop)
    kCloseAtOnce,  // accept, then close without reading
  };

  TinyServer(Mode mode, std::string response = "") : mode_(mode), response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~TinyServer() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  uint16_t port() const { return port_; }
  core::NetAddress address() const {
    return *core::NetAddress::parse("127.0.0.1:" + std::to_string(port_));
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  int accepted() const { return accepted_.load(); }

 private:
  // Waits for `events` on `fd` for up to 20 ms; false when nothing came.
  static bool ready(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 20) > 0;
  }

  void serve() {
    while (!stop_.load()) {
      if (!ready(fd_, POLLIN)) continue;
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      accepted_.fetch_add(1);
      handle(client);
      ::close(client);
    }
  }

  void handle(int client) {
    if (mode_ == Mode::kCloseAtOnce) return;
    std::string head;
    // Reads until the end of the head, EOF (a TCP check), or stop.
    while (!stop_.load() && head.find("\r\n\r\n") == std::string::npos) {
      if (!ready(client, POLLIN)) continue;
      char buffer[4096];
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(head);
    }
    if (head.find("\r\n\r\n") == std::string::npos) return;
    if (mode_ == Mode::kRespond) {
      size_t sent = 0;
      while (sent < response_.size()) {
        const ssize_t n =
            ::send(client, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      return;
    }
    // kHang: until the client gives up.
    while (!stop_.load()) {
      if (!ready(client, POLLIN)) continue;
      char buffer[256];
      if (::recv(client, buffer, sizeof buffer, 0) <= 0) return;
    }
  }

  Mode mode_;
  std::string response_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

std::string response(int status, std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

HealthCheckConfig httpCheck() {
  HealthCheckConfig check;
  check.timeout = absl::Seconds(5);
  return check;
}

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    context_ = std::make_unique<core::LoopContext>(&loop_);  // the transports' read buffer
    ASSERT_EQ(timeouts_.init(&loop_), 0);
  }

  void TearDown() override {
    timeouts_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);  // lets closing transports finish
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    context_.reset();
  }

  // Runs one probe to completion (or `limit`); the result, and how many times `done` ran.
  std::optional<ProbeResult> probe(const core::NetAddress& address, const HealthCheckConfig& check,
                                   const std::string& host = "backend.test",
                                   absl::Duration limit = absl::Seconds(10)) {
    std::optional<ProbeResult> result;
    calls_ = 0;
    // Deadlines count from the loop's cached clock, as in the checker, where a timer callback
    // starts the probe; the fixture's own setup must not make that clock stale (seen under TSan:
    // a 150 ms timeout measured 137 ms from the test's point of view).
    uv_update_time(&loop_);
    std::shared_ptr<Probe> handle =
        Probe::start(&loop_, timeouts_, address, check, host, [&](const ProbeResult& r) {
          ++calls_;
          result = r;
        });
    runUntil([&] { return result.has_value(); }, limit);
    // Nothing may run again afterwards.
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_LE(calls_, 1);
    return result;
  }

  void runUntil(const std::function<bool()>& condition, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 5, 5);
    while (!condition() && absl::Now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> context_;
  core::TimeoutQueue timeouts_;
  int calls_ = 0;
};

TEST_F(ProbeTest, HttpCheckPassesOnA200AndSendsTheConfiguredRequest) {
  TinyServer server(TinyServer::Mode::kRespond, response(200, "ok\n"));
  HealthCheckConfig check = httpCheck();
  check.path = "/ready?deep=1";
  std::optional<ProbeResult> result = probe(server.address(), check, "app.example");
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
  EXPECT_EQ(result->error, "");
  EXPECT_GT(result->duration_ns, 0u);
  const std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].rfind("GET /ready?deep=1 HTTP/1.1\r\n", 0), 0u) << requests[0];
  EXPECT_NE(requests[0].find("\r\nHost: app.example\r\n"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("\r\nConnection: close\r\n"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("\r\nUser-Agent: switchyard-health-check\r\n"), std::string::npos);
}

TEST_F(ProbeTest, BuildRequestUsesMethodPathAndHost) {
  HealthCheckConfig check;
  check.method = "HEAD";
  check.path = "/status";
  EXPECT_EQ(Probe::buildRequest(check, "10.0.0.1:8080"),
            "HEAD /status HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: switchyard-health-check"
            "\r\nAccept: */*\r\nConnection: close\r\n\r\n");
}

TEST_F(ProbeTest, UnexpectedStatusFailsWithTheStatusAsError) {
  TinyServer server(TinyServer::Mode::kRespond, response(503, "unhealthy\n"));
  std::optional<ProbeResult> result = probe(server.address(), httpCheck());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->error, "status 503");
}

TEST_F(ProbeTest, DefaultStatusesAre200To399) {
  for (int status : {200, 204, 301, 399}) {
    TinyServer server(TinyServer::Mode::kRespond,
                      status == 204 ? "HTTP/1.1 204 X\r\n\r\n" : response(status, "x"));
    std::optional<ProbeResult> result = probe(server.address(), httpCheck());
    ASSERT_TRUE(result.has_value()) << status;
    EXPECT_TRUE(result->passed) << status << ": " << result->error;
  }
  for (int status : {400, 404, 500}) {
    TinyServer server(TinyServer::Mode::kRespond, response(status, "x"));
    std::optional<ProbeResult> result = probe(server.address(), httpCheck());
    ASSERT_TRUE(result.has_value()) << status;
    EXPECT_FALSE(result->passed) << status;
  }
}

TEST_F(ProbeTest, ExpectedStatusesAreInclusiveRanges) {
  HealthCheckConfig check = httpCheck();
  check.statuses = {{200, 200}, {418, 418}, {500, 502}};
  for (int status : {200, 418, 500, 502}) {
    TinyServer server(TinyServer::Mode::kRespond, response(status, "x"));
    std::optional<ProbeResult> result = probe(server.address(), check);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->passed) << status << ": " << result->error;
  }
  for (int status : {201, 301, 417, 503}) {
    TinyServer server(TinyServer::Mode::kRespond, response(status, "x"));
    std::optional<ProbeResult> result = probe(server.address(), check);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->passed) << status;
    EXPECT_EQ(result->error, "status " + std::to_string(status));
  }
}

TEST_F(ProbeTest, BodyContainsMustBeFoundInTheBody) {
  HealthCheckConfig check = httpCheck();
  check.body_contains = "\"status\":\"up\"";
  {
    TinyServer server(TinyServer::Mode::kRespond, response(200, "{\"db\":1,\"status\":\"up\"}"));
    std::optional<ProbeResult> result = probe(server.address(), check);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->passed) << result->error;
  }
  {
    TinyServer server(TinyServer::Mode::kRespond, response(200, "{\"status\":\"down\"}"));
    std::optional<ProbeResult> result = probe(server.address(), check);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->passed);
    EXPECT_EQ(result->error, "body does not contain \"\"status\":\"up\"\"");
  }
  {
    // The status rule comes first: the right body with a wrong status still fails.
    TinyServer server(TinyServer::Mode::kRespond, response(500, "\"status\":\"up\""));
    std::optional<ProbeResult> result = probe(server.address(), check);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->passed);
    EXPECT_EQ(result->error, "status 500");
  }
}

TEST_F(ProbeTest, BodyContainsFindsTextAcrossChunks) {
  HealthCheckConfig check = httpCheck();
  check.body_contains = "ready";
  TinyServer server(TinyServer::Mode::kRespond,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nrea\r\n4\r\ndy!!\r\n0\r\n\r\n");
  std::optional<ProbeResult> result = probe(server.address(), check);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
}

TEST_F(ProbeTest, BodyUntilCloseIsAcceptedAtEof) {
  HealthCheckConfig check = httpCheck();
  check.body_contains = "fine";
  TinyServer server(TinyServer::Mode::kRespond,
                    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall fine");
  std::optional<ProbeResult> result = probe(server.address(), check);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
}

TEST_F(ProbeTest, HeadCheckDoesNotWaitForTheAnnouncedBody) {
  HealthCheckConfig check = httpCheck();
  check.method = "HEAD";
  // Content-Length without a body, as HEAD answers are: the head alone decides.
  TinyServer server(TinyServer::Mode::kRespond, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  std::optional<ProbeResult> result = probe(server.address(), check);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].rfind("HEAD /health HTTP/1.1\r\n", 0), 0u);
}

TEST_F(ProbeTest, InterimResponseIsSkipped) {
  TinyServer server(TinyServer::Mode::kRespond,
                    "HTTP/1.1 100 Continue\r\n\r\n" + response(503, "no"));
  std::optional<ProbeResult> result = probe(server.address(), httpCheck());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->error, "status 503");  // the final answer decides, not the 100
}

TEST_F(ProbeTest, GarbageIsAnInvalidResponse) {
  TinyServer server(TinyServer::Mode::kRespond, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  std::optional<ProbeResult> result = probe(server.address(), httpCheck());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->error.rfind("invalid response", 0), 0u) << result->error;
}

TEST_F(ProbeTest, CloseWithoutAnswerFails) {
  TinyServer server(TinyServer::Mode::kCloseAtOnce);
  std::optional<ProbeResult> result = probe(server.address(), httpCheck());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_FALSE(result->error.empty());
}

TEST_F(ProbeTest, TruncatedResponseFails) {
  TinyServer server(TinyServer::Mode::kRespond, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  std::optional<ProbeResult> result = probe(server.address(), httpCheck());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->error, "connection closed before a complete response");
}

TEST_F(ProbeTest, SilentServerTimesOutWithinTheTimeout) {
  TinyServer server(TinyServer::Mode::kHang);
  HealthCheckConfig check = httpCheck();
  check.timeout = absl::Milliseconds(150);
  const absl::Time started = absl::Now();
  std::optional<ProbeResult> result = probe(server.address(), check);
  const absl::Duration took = absl::Now() - started;
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->error, "timeout");
  EXPECT_GE(took, absl::Milliseconds(140));
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_GE(result->duration_ns, 140u * 1000 * 1000);
  // The probe closed its connection: the server sees the client go.
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ProbeTest, ConnectionRefusedFailsAsAConnectError) {
  // Bind a port and close it: nothing listens there afterwards.
  core::NetAddress address;
  {
    TinyServer closed(TinyServer::Mode::kCloseAtOnce);
    address = closed.address();
  }
  for (HealthCheckConfig::Type type :
       {HealthCheckConfig::Type::kHttp, HealthCheckConfig::Type::kTcp}) {
    HealthCheckConfig check = httpCheck();
    check.type = type;
    std::optional<ProbeResult> result = probe(address, check);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->passed);
    EXPECT_EQ(result->error.rfind("connect: ", 0), 0u) << result->error;
    EXPECT_NE(result->error.find("refused"), std::string::npos) << result->error;
  }
}

TEST_F(ProbeTest, TcpCheckPassesOnConnectAndSendsNothing) {
  TinyServer server(TinyServer::Mode::kHang);
  HealthCheckConfig check = httpCheck();
  check.type = HealthCheckConfig::Type::kTcp;
  std::optional<ProbeResult> result = probe(server.address(), check);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
  // The server saw a connection that ended without a byte.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (server.requests().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0], "");
}

TEST_F(ProbeTest, TcpCheckPassesEvenWhenTheServerWouldAnswerAnError) {
  // TCP mode only connects: what the server would say over HTTP does not matter.
  TinyServer server(TinyServer::Mode::kCloseAtOnce);
  HealthCheckConfig check = httpCheck();
  check.type = HealthCheckConfig::Type::kTcp;
  std::optional<ProbeResult> result = probe(server.address(), check);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->passed) << result->error;
}

TEST_F(ProbeTest, CancelledProbeNeverCallsBack) {
  TinyServer server(TinyServer::Mode::kHang);
  HealthCheckConfig check = httpCheck();
  check.timeout = absl::Milliseconds(50);
  int calls = 0;
  std::shared_ptr<Probe> handle = Probe::start(&loop_, timeouts_, server.address(), check, "h",
                                               [&](const ProbeResult&) { ++calls; });
  runUntil([&] { return server.accepted() > 0; }, absl::Seconds(5));
  handle->cancel();
  handle.reset();
  runUntil([] { return false; }, absl::Milliseconds(150));  // past the timeout
  EXPECT_EQ(calls, 0);
}

TEST_F(ProbeTest, ProbeDroppedBeforeItEndsStillCallsBackOnce) {
  // Dropping the handle is not cancelling: the probe keeps itself alive until it concludes.
  TinyServer server(TinyServer::Mode::kRespond, response(200, "ok"));
  int calls = 0;
  bool passed = false;
  Probe::start(&loop_, timeouts_, server.address(), httpCheck(), "h", [&](const ProbeResult& r) {
    ++calls;
    passed = r.passed;
  });
  runUntil([&] { return calls > 0; }, absl::Seconds(5));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(passed);
}

}  // namespace
}  // namespace sy::health
