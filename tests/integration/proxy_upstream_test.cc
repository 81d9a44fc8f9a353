// Backends that misbehave at the protocol level: invalid or ambiguous responses become the
// proxy's 502, interim responses are absorbed, and a response cut short cuts the client off
// instead of leaving it waiting.

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class ProxyUpstreamTest : public ProxyTest {
 protected:
  // GET / through the proxy to a RawServer answering `response`; expects the proxy's 502 and
  // a client connection that stays usable.
  void expectBadGateway(const std::string& response) {
    RawServer backend(response, /*close_after=*/true);
    ASSERT_TRUE(backend.ready());
    ASSERT_NO_FATAL_FAILURE(
        startProxy({.backends = {backend.port()}, .pool = "idle_timeout = \"2s\""}));
    HttpClient client(milliseconds(5000));
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    std::optional<Response> answer = client.request("GET", "/");
    ASSERT_TRUE(answer.has_value()) << client.lastError();
    EXPECT_EQ(answer->status, 502) << answer->body;
    EXPECT_EQ(answer->header("Server"), "switchyard");
    EXPECT_TRUE(answer->keep_alive);
  }
};

TEST_F(ProxyUpstreamTest, GarbageResponseIs502) { expectBadGateway("this is not HTTP\r\n\r\n"); }

TEST_F(ProxyUpstreamTest, ContentLengthWithTransferEncodingIs502) {
  expectBadGateway(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
}

TEST_F(ProxyUpstreamTest, ConflictingContentLengthsAre502) {
  expectBadGateway("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello!!");
}

TEST_F(ProxyUpstreamTest, OversizedResponseHeadIs502) {
  expectBadGateway("HTTP/1.1 200 OK\r\nX-Huge: " + std::string(70000, 'h') +
                   "\r\nContent-Length: 2\r\n\r\nok");
}

TEST_F(ProxyUpstreamTest, UnrequestedSwitchingProtocolsIs502) {
  expectBadGateway(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n\r\nraw bytes");
}

// RFC 9110 §15.2: a proxy forwards interim responses (103 Early Hints) to HTTP/1.1 clients, then
// the final response; an HTTP/1.0 client gets only the final one.
TEST_F(ProxyUpstreamTest, InterimResponsesAreForwardedToHttp11Clients) {
  RawServer backend(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
      /*close_after=*/true);
  ASSERT_TRUE(backend.ready());
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backend.port()}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/")));
  const std::string received = client.readRaw(1 << 16, milliseconds(3000));
  EXPECT_THAT(received, StartsWith("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; "
                                   "rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(received, HasSubstr("\r\n\r\nfinal"));

  HttpClient old_client;
  ASSERT_NO_FATAL_FAILURE(connect(&old_client));
  ASSERT_TRUE(old_client.sendRaw("GET / HTTP/1.0\r\n\r\n"));
  const std::string old_received = old_client.readRaw(1 << 16, milliseconds(3000));
  EXPECT_THAT(old_received, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(old_received, Not(HasSubstr("103")));
}

TEST_F(ProxyUpstreamTest, TruncatedResponseCutsTheClient) {
  RawServer backend("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                    /*close_after=*/true);
  ASSERT_TRUE(backend.ready());
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backend.port()}}));
  HttpClient client(milliseconds(3000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/")));
  // The head went out before the backend failed: all the proxy can do is close, so that the
  // client sees the truncation instead of waiting for bytes that never come.
  const std::string received = client.readRaw(1 << 20, milliseconds(3000));
  EXPECT_THAT(received, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(received, HasSubstr("\r\n\r\n0123456789"));
  EXPECT_TRUE(client.peerClosed()) << "the client was left waiting";
}

}  // namespace
}  // namespace sy::testing
