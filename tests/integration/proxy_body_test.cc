// Request and response bodies through the proxy: chunked in both directions, re-framing for
// HTTP/1.0 clients, and Expect: 100-continue.

#include <cstdio>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/digest.h"
#include "tests/support/http_client.h"
#include "tests/support/sizes.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ProxyBodyTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  }
};

TEST_F(ProxyBodyTest, ChunkedUploadArrivesIntact) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(
      client.sendRaw(client.buildRequest("POST", "/echo", {{"Transfer-Encoding", "chunked"}})));
  Sha256 sent;
  uint64_t total = 0;
  // Odd sizes, a chunk larger than the proxy's buffers, and chunks split across writes.
  for (size_t size : {1, 100, 65536, 1000000, 3, 2000000, 17}) {
    const std::string chunk = testBody(size, static_cast<uint32_t>(size));
    char header[32];
    std::snprintf(header, sizeof header, "%zx\r\n", size);
    const std::string framed = header + chunk + "\r\n";
    ASSERT_TRUE(client.sendRaw(std::string_view(framed).substr(0, framed.size() / 2)));
    ASSERT_TRUE(client.sendRaw(std::string_view(framed).substr(framed.size() / 2)));
    sent.update(chunk);
    total += size;
  }
  // A chunk extension and a trailer are legal and must not disturb anything.
  ASSERT_TRUE(client.sendRaw("5;ext=1\r\nabcde\r\n0\r\nX-Trailer: t\r\n\r\n"));
  sent.update("abcde");
  total += 5;
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["body_bytes"], total);
  EXPECT_EQ((*json)["body_sha256"], sent.finishHex());
  EXPECT_THAT(echoedHeader(*json, "Transfer-Encoding"), ElementsAre("chunked"));
  EXPECT_THAT(echoedHeader(*json, "Content-Length"), IsEmpty());
  // The connection is still usable.
  std::optional<Response> next = client.request("GET", "/status/201");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->status, 201);
}

TEST_F(ProxyBodyTest, ChunkedDownloadArrivesIntact) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  constexpr uint64_t kSize = 16 * kMiB + 12345;
  ASSERT_TRUE(
      client.sendRaw(client.buildRequest("GET", "/bytes/" + std::to_string(kSize) + "?chunked=1")));
  std::optional<Response> response = client.readResponseDigest();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(response->header("Content-Length").has_value());
  EXPECT_EQ(response->body_bytes, kSize);
  EXPECT_EQ(response->body_sha256, patternDigest(kSize));
  EXPECT_TRUE(response->keep_alive);
  // An empty chunked body, then a plain one: the framing stayed in sync.
  std::optional<Response> empty = client.request("GET", "/bytes/0?chunked=1");
  ASSERT_TRUE(empty.has_value()) << client.lastError();
  EXPECT_EQ(empty->body_bytes, 0u);
  std::optional<Response> plain = client.request("GET", "/bytes/1000");
  ASSERT_TRUE(plain.has_value()) << client.lastError();
  EXPECT_EQ(plain->body, patternBytes(1000));
}

TEST_F(ProxyBodyTest, Http10ClientGetsChunkedResponseDelimitedByClose) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // The proxy asks the backend in HTTP/1.1, which answers chunked; an HTTP/1.0 client knows no
  // chunked encoding, so the proxy must strip the framing and close to end the body.
  constexpr uint64_t kSize = 1 * kMiB + 7;
  ASSERT_TRUE(client.sendRaw("GET /bytes/" + std::to_string(kSize) +
                             "?chunked=1 HTTP/1.0\r\nHost: example.com\r\n\r\n"));
  std::optional<Response> response = client.readResponseDigest();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->header("Transfer-Encoding").has_value());
  EXPECT_FALSE(response->header("Content-Length").has_value());
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_EQ(response->body_bytes, kSize);
  EXPECT_EQ(response->body_sha256, patternDigest(kSize));
  EXPECT_TRUE(client.peerClosed());
  EXPECT_FALSE(client.peerReset());

  // Even when it asked for keep-alive: without a length there is no other way to end the body.
  HttpClient keep_alive;
  ASSERT_NO_FATAL_FAILURE(connect(&keep_alive));
  ASSERT_TRUE(keep_alive.sendRaw(
      "GET /bytes/5000?chunked=1 HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n"));
  std::optional<Response> second = keep_alive.readResponse();
  ASSERT_TRUE(second.has_value()) << keep_alive.lastError();
  EXPECT_EQ(second->header("Connection"), "close");
  EXPECT_FALSE(second->header("Transfer-Encoding").has_value());
  EXPECT_EQ(second->body, patternBytes(5000));

  // With a Content-Length, an HTTP/1.0 client asking for keep-alive keeps its connection.
  ASSERT_NO_FATAL_FAILURE(connect(&keep_alive));
  ASSERT_TRUE(keep_alive.sendRaw(
      "GET /bytes/5000 HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n"));
  std::optional<Response> third = keep_alive.readResponse();
  ASSERT_TRUE(third.has_value()) << keep_alive.lastError();
  EXPECT_EQ(third->header("Content-Length"), "5000");
  EXPECT_TRUE(third->keep_alive);
  EXPECT_EQ(third->body, patternBytes(5000));
}

TEST_F(ProxyBodyTest, ExpectContinueGetsInterimAnswerBeforeTheBody) {
  HttpClient client(milliseconds(3000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(300000, 7);
  ASSERT_TRUE(client.sendRaw(client.buildRequest(
      "POST", "/echo",
      {{"Expect", "100-continue"}, {"Content-Length", std::to_string(body.size())}})));
  // Nothing of the body was sent: the interim answer must come anyway.
  std::optional<Response> interim = client.readResponse();
  ASSERT_TRUE(interim.has_value()) << client.lastError();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.sendRaw(body)) << client.lastError();
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["body_bytes"], body.size());
  EXPECT_EQ((*json)["body_sha256"], sha256Hex(body));
  // The proxy answered the expectation itself, so it must not pass it on (the backend would
  // send a second 100 Continue).
  EXPECT_THAT(echoedHeader(*json, "Expect"), IsEmpty());
  // No stray interim response follows.
  std::optional<Response> next = client.request("GET", "/status/201");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->status, 201);
}

}  // namespace
}  // namespace sy::testing
