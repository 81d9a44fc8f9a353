// WebSocket upgrades: after 101 the proxy is a raw byte tunnel in both directions, and the end
// of either side ends the other.

#include <signal.h>

#include <optional>
#include <string>

#include "core/strings.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class ProxyWebSocketTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  }

  // Sends the upgrade request (with `early` bytes in the same write) and expects 101.
  void upgrade(HttpClient* client, std::string_view early = {}) {
    ASSERT_NO_FATAL_FAILURE(connect(client));
    ASSERT_TRUE(client->sendRaw(
        client->buildRequest("GET", "/ws", {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}) +
        std::string(early)))
        << client->lastError();
    std::optional<Response> response = client->readResponse();
    ASSERT_TRUE(response.has_value()) << client->lastError();
    ASSERT_EQ(response->status, 101);
    EXPECT_EQ(response->header("Upgrade"), "websocket");
    EXPECT_TRUE(core::equalsIgnoreCase(response->header("Connection").value_or(""), "upgrade"))
        << response->header("Connection").value_or("(none)");
    EXPECT_EQ(response->header("X-Backend"), "blue");
  }
};

TEST_F(ProxyWebSocketTest, TunnelEchoesBytesBothWays) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(upgrade(&client, "early"));
  // Bytes that rode with the request head reach the backend as tunnel data.
  EXPECT_EQ(client.readRaw(5, milliseconds(3000)), "early");

  // Something that looks like HTTP must pass untouched, and enough to need backpressure.
  const std::string payload =
      std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n\0\r\n", 30) + testBody(4 * 1024 * 1024, 5);
  // Read while writing: a client that only writes would deadlock against the backpressure.
  std::string echoed;
  for (size_t offset = 0; offset < payload.size(); offset += 64 * 1024) {
    ASSERT_TRUE(client.sendRaw(std::string_view(payload).substr(offset, 64 * 1024)))
        << client.lastError();
    echoed += client.readRaw(payload.size() - echoed.size(), milliseconds(0));
  }
  echoed += client.readRaw(payload.size() - echoed.size(), milliseconds(10000));
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);

  // Small messages go through at once, in both directions, many times.
  for (int i = 0; i < 20; ++i) {
    const std::string message = "ping " + std::to_string(i);
    ASSERT_TRUE(client.sendRaw(message));
    EXPECT_EQ(client.readRaw(message.size(), milliseconds(2000)), message);
  }
}

TEST_F(ProxyWebSocketTest, ClosingTheClientClosesTheBackendSide) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(upgrade(&client));
  ASSERT_TRUE(client.sendRaw("hello"));
  EXPECT_EQ(client.readRaw(5, milliseconds(3000)), "hello");
  EXPECT_EQ(openConnections(backendPort(0)), 1);
  client.close();
  EXPECT_TRUE(waitUntil([&] { return openConnections(backendPort(0)) == 0; }, milliseconds(3000)))
      << "the backend still has " << openConnections(backendPort(0)) << " open connection(s)";
}

TEST_F(ProxyWebSocketTest, BackendClosingClosesTheClient) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(upgrade(&client));
  ASSERT_TRUE(client.sendRaw("hello"));
  EXPECT_EQ(client.readRaw(5, milliseconds(3000)), "hello");
  // A stopping demo backend closes its tunnels.
  ASSERT_TRUE(backends_[0]->process->signal(SIGTERM));
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(3000))) << client.lastError();
  // Reaped here: TearDown's own SIGTERM would reach a backend still exiting, and a second
  // signal kills a demo backend at once (Ctrl-C twice), exit 143.
  EXPECT_EQ(backends_[0]->process->waitExit(std::chrono::seconds(10)), std::optional<int>(0))
      << backends_[0]->process->output();
  backends_[0]->process.reset();
}

}  // namespace
}  // namespace sy::testing
