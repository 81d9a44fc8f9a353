// Header rewriting, as the backend sees it through /echo: hop-by-hop headers stay on their hop,
// forwarding headers are added, everything end-to-end passes unchanged.

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ProxyHeadersTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  }

  // Sends `request` (raw bytes) and returns the /echo JSON.
  nlohmann::json echo(HttpClient& client, const std::string& request) {
    EXPECT_TRUE(client.sendRaw(request)) << client.lastError();
    std::optional<Response> response = client.readResponse();
    EXPECT_TRUE(response.has_value()) << client.lastError();
    if (!response.has_value()) return {};
    EXPECT_EQ(response->status, 200) << response->body;
    std::optional<nlohmann::json> json = parseJson(response->body);
    EXPECT_TRUE(json.has_value()) << response->body;
    return json.value_or(nlohmann::json());
  }
};

TEST_F(ProxyHeadersTest, HopByHopHeadersAreNotForwarded) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const nlohmann::json json = echo(client,
                                   "GET /echo HTTP/1.1\r\n"
                                   "Host: app.example.com:8080\r\n"
                                   "Connection: keep-alive, X-Session-Hop, x-other-hop\r\n"
                                   "X-Session-Hop: secret\r\n"
                                   "X-Other-Hop: also secret\r\n"
                                   "Keep-Alive: timeout=5, max=100\r\n"
                                   "TE: trailers\r\n"
                                   "Trailer: X-Checksum\r\n"
                                   "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
                                   "Proxy-Connection: keep-alive\r\n"
                                   "X-End-To-End: kept\r\n"
                                   "X-Multi: one\r\n"
                                   "X-Multi: two\r\n"
                                   "\r\n");
  for (const char* name : {"Connection", "X-Session-Hop", "X-Other-Hop", "Keep-Alive", "TE",
                           "Trailer", "Proxy-Authorization", "Proxy-Connection"}) {
    EXPECT_THAT(echoedHeader(json, name), IsEmpty()) << name << " was forwarded";
  }
  EXPECT_THAT(echoedHeader(json, "Host"), ElementsAre("app.example.com:8080"));
  EXPECT_THAT(echoedHeader(json, "X-End-To-End"), ElementsAre("kept"));
  EXPECT_THAT(echoedHeader(json, "X-Multi"), ElementsAre("one", "two"));
  EXPECT_EQ(json["method"], "GET");
  EXPECT_EQ(json["path"], "/echo");
  EXPECT_EQ(json["version"], "1.1");
}

// "h2c smuggling": a proxy that passed `Upgrade: h2c` on would let a backend that accepts the
// upgrade switch the connection to HTTP/2 with the client, past every route and rule. Only
// WebSocket upgrades are tunnelled (and RFC 9113 section 3.1 deprecates the h2c upgrade): the
// request is forwarded as a plain one, its upgrade fields dropped, and the connection stays
// HTTP/1.1 for the next request.
TEST_F(ProxyHeadersTest, H2cUpgradeFieldsNeverReachTheBackend) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string upgrade_request =
      "GET /echo HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "Connection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
      "\r\n";
  const nlohmann::json json = echo(client, upgrade_request);
  for (const char* name : {"Upgrade", "HTTP2-Settings", "Connection"}) {
    EXPECT_THAT(echoedHeader(json, name), IsEmpty()) << name << " was forwarded";
  }
  const nlohmann::json again = echo(client, "GET /echo HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(again["path"], "/echo");
}

TEST_F(ProxyHeadersTest, ForwardingHeadersAreAddedAndNotSpoofable) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const nlohmann::json json = echo(client,
                                   "GET /echo HTTP/1.1\r\n"
                                   "Host: example.com\r\n"
                                   "X-Forwarded-For: 203.0.113.7\r\n"
                                   "X-Forwarded-For: 198.51.100.1, 192.0.2.9\r\n"
                                   "X-Forwarded-Proto: https\r\n"
                                   "X-Real-IP: 203.0.113.99\r\n"
                                   "\r\n");
  // The client's chain is kept and our peer appended, in one field.
  EXPECT_THAT(echoedHeader(json, "X-Forwarded-For"),
              ElementsAre("203.0.113.7, 198.51.100.1, 192.0.2.9, 127.0.0.1"));
  // What the proxy knows first-hand replaces what the client claimed.
  EXPECT_THAT(echoedHeader(json, "X-Forwarded-Proto"), ElementsAre("http"));
  EXPECT_THAT(echoedHeader(json, "X-Real-IP"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(echoedHeader(json, "Host"), ElementsAre("example.com"));

  // Without client-sent ones, they are simply set.
  const nlohmann::json plain = echo(client, "GET /echo HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_THAT(echoedHeader(plain, "X-Forwarded-For"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(echoedHeader(plain, "X-Forwarded-Proto"), ElementsAre("http"));
  EXPECT_THAT(echoedHeader(plain, "X-Real-IP"), ElementsAre("127.0.0.1"));
}

TEST_F(ProxyHeadersTest, Http10RequestIsForwardedAsHttp11WithAHost) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // HTTP/1.0 allows no Host; the backend (HTTP/1.1) needs one.
  ASSERT_TRUE(client.sendRaw("GET /echo HTTP/1.0\r\n\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["version"], "1.1");
  EXPECT_THAT(echoedHeader(*json, "Host"),
              ElementsAre("127.0.0.1:" + std::to_string(backendPort(0))));
}

TEST_F(ProxyHeadersTest, BackendConnectionCloseStaysOnTheBackendHop) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // The backend closes its connection after /close; the client's connection is not affected.
  std::optional<Response> closing = client.request("GET", "/close");
  ASSERT_TRUE(closing.has_value()) << client.lastError();
  EXPECT_EQ(closing->status, 200);
  EXPECT_FALSE(closing->header("Connection").has_value());
  EXPECT_TRUE(closing->keep_alive);
  std::optional<Response> next = client.request("GET", "/");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->header("X-Backend"), "blue");
}

}  // namespace
}  // namespace sy::testing
