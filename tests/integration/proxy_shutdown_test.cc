// Graceful shutdown on SIGTERM: the listeners close at once, idle connections go, requests in
// flight finish (up to shutdown_timeout), and the process exits 0.

#include <signal.h>

#include <optional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class ProxyShutdownTest : public ProxyTest {
 protected:
  // Sends `target` on `client` and waits until the backend has the request.
  void startRequest(HttpClient* client, const std::string& target) {
    ASSERT_NO_FATAL_FAILURE(connect(client));
    const uint64_t before = stats(0).requests;
    ASSERT_TRUE(client->sendRaw(client->buildRequest("GET", target)));
    ASSERT_TRUE(waitUntil([&] { return stats(0).requests > before; }, milliseconds(3000)));
  }

  // True once a new connection to the proxy's port is refused.
  bool refusesConnections() {
    HttpClient probe(milliseconds(500));
    return !probe.connect(port());
  }
};

TEST_F(ProxyShutdownTest, InFlightRequestCompletesAndTheProcessExitsZero) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy(
      {.backends = {backendPort(0)}, .workers = 2, .server = "shutdown_timeout = \"10s\""}));
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  ASSERT_TRUE(idle.request("GET", "/").has_value()) << idle.lastError();
  HttpClient in_flight;
  ASSERT_NO_FATAL_FAILURE(startRequest(&in_flight, "/delay/1500"));

  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  ASSERT_TRUE(waitForLogEvent(*proxy_.process, "shutdown_started", milliseconds(3000)));
  // New connections are refused once the listeners are closed, long before the drain ends.
  EXPECT_TRUE(waitUntil([&] { return refusesConnections(); }, milliseconds(1000)));
  EXPECT_LT(elapsedMs(begin), 1000);
  // Idle keep-alive connections do not hold the exit up: they are closed at once.
  EXPECT_TRUE(idle.waitForPeerClose(milliseconds(1000))) << idle.lastError();

  std::optional<Response> response = in_flight.readResponse();
  ASSERT_TRUE(response.has_value()) << in_flight.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("X-Backend"), "blue");
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(in_flight.waitForPeerClose(milliseconds(2000))) << in_flight.lastError();
  // Until the client closes too, the proxy lingers (up to 5 s) so that its reset cannot destroy
  // the response in flight; a real client closes now.
  in_flight.close();

  EXPECT_EQ(proxy_.process->waitExit(milliseconds(3000)), std::optional<int>(0))
      << proxy_.process->output();
  const long elapsed = elapsedMs(begin);
  EXPECT_GE(elapsed, 1000) << "exited before the in-flight response was done";
  EXPECT_LT(elapsed, 3500);
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "stopped", milliseconds(1000)));
}

TEST_F(ProxyShutdownTest, ShutdownTimeoutCutsWhatIsStillRunning) {
  // The backend gives up on the abandoned delay quickly too, so that the test ends promptly.
  ASSERT_NO_FATAL_FAILURE(startBackend("blue", {"--shutdown-grace", "100ms"}));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .server = "shutdown_timeout = \"500ms\""}));
  HttpClient in_flight;
  ASSERT_NO_FATAL_FAILURE(startRequest(&in_flight, "/delay/5000"));

  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(3000)), std::optional<int>(0))
      << proxy_.process->output();
  const long elapsed = elapsedMs(begin);
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 2000);
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "shutdown_timeout", milliseconds(1000)));
  // The client's request was cut: no response, the connection closed.
  EXPECT_FALSE(in_flight.readResponse().has_value());
  EXPECT_TRUE(in_flight.peerClosed());
}

TEST_F(ProxyShutdownTest, IdleProxyExitsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}, .workers = 2}));
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  ASSERT_TRUE(idle.request("GET", "/").has_value()) << idle.lastError();
  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(3000)), std::optional<int>(0))
      << proxy_.process->output();
  EXPECT_LT(elapsedMs(begin), 1000);
  EXPECT_TRUE(idle.waitForPeerClose(milliseconds(1000)));
}

// A process manager may repeat its SIGTERM while the proxy is already on its way out; closing
// the signal handles must not hand those signals back to their default action (death, 143).
TEST_F(ProxyShutdownTest, SignalsRepeatedDuringTheExitDoNotKillTheProcess) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}, .workers = 2}));
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  std::optional<int> code;
  const Clock::time_point begin = Clock::now();
  while (!code.has_value() && elapsedMs(begin) < 3000) {
    proxy_.process->signal(SIGTERM);
    proxy_.process->signal(SIGHUP);
    code = proxy_.process->waitExit(milliseconds(0));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!code.has_value()) code = proxy_.process->waitExit(milliseconds(3000));
  EXPECT_EQ(code, std::optional<int>(0)) << proxy_.process->output();
}

}  // namespace
}  // namespace sy::testing
