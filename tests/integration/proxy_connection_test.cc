// Connection handling through the proxy: keep-alive on both sides, pipelining, and responses
// without a body (HEAD, 204, 304) that must leave the connection in sync.

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

class ProxyConnectionTest : public ProxyTest {};

TEST_F(ProxyConnectionTest, KeepAliveIsReusedOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}, .workers = 2}));

  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 50; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << "request " << i << ": " << client.lastError();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "blue\n");
    EXPECT_TRUE(response->keep_alive) << "request " << i;
  }
  EXPECT_FALSE(client.peerClosed());
  BackendStats after_one = stats(0);
  EXPECT_EQ(after_one.requests, 50u);
  // One client connection is served by one worker, which needs one backend connection.
  EXPECT_LE(after_one.connections, 2u);

  // Several client connections, likely spread over both workers, one request in flight at a
  // time: each worker keeps reusing its idle backend connection.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<HttpClient>());
    ASSERT_NO_FATAL_FAILURE(connect(clients.back().get()));
  }
  for (int round = 0; round < 25; ++round) {
    for (auto& each : clients) {
      std::optional<Response> response = each->request("GET", "/status/201");
      ASSERT_TRUE(response.has_value()) << each->lastError();
      EXPECT_EQ(response->status, 201);
    }
  }
  const BackendStats after_all = stats(0);
  EXPECT_EQ(after_all.requests, 150u);
  EXPECT_LE(after_all.connections, 4u) << "at most 2 backend connections per worker";
}

TEST_F(ProxyConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // One write; the first answer is the slow one, so the later ones must wait for it.
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/delay/100") +
                             client.buildRequest("GET", "/status/201") +
                             client.buildRequest("POST", "/echo", {}, "abc")))
      << client.lastError();
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = client.readResponse();
    ASSERT_TRUE(response.has_value()) << "response " << i << ": " << client.lastError();
    statuses.push_back(response->status);
    if (i == 2) {
      const std::optional<nlohmann::json> json = parseJson(response->body);
      ASSERT_TRUE(json.has_value()) << response->body;
      EXPECT_EQ((*json)["body_sha256"], sha256Hex("abc"));
    }
  }
  EXPECT_THAT(statuses, ElementsAre(200, 201, 200));
  // Still in sync afterwards.
  std::optional<Response> after = client.request("GET", "/status/202");
  ASSERT_TRUE(after.has_value()) << client.lastError();
  EXPECT_EQ(after->status, 202);
}

TEST_F(ProxyConnectionTest, ManyPipelinedRequestsInOneWrite) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Far more than the proxy holds for a busy connection (64 KiB): it must pause reading, not
  // drop or reorder anything, and go on as answers leave.
  constexpr int kCount = 3000;
  std::string batch;
  for (int i = 0; i < kCount; ++i) {
    batch += client.buildRequest("GET", "/status/" + std::to_string(200 + i % 7));
  }
  ASSERT_GT(batch.size(), 128u * 1024);
  ASSERT_TRUE(client.sendRaw(batch)) << client.lastError();
  for (int i = 0; i < kCount; ++i) {
    std::optional<Response> response = client.readResponse();
    ASSERT_TRUE(response.has_value()) << "response " << i << ": " << client.lastError();
    ASSERT_EQ(response->status, 200 + i % 7) << "response " << i;
  }
  EXPECT_EQ(stats(0).requests, static_cast<uint64_t>(kCount));
}

TEST_F(ProxyConnectionTest, HalfClosedClientStillGetsItsResponseWithoutAbortOnClientClose) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .listener = "abort_on_client_close = false"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Like `printf 'GET ...' | nc`: the request, then FIN, then read.
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/delay/100")));
  ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "blue\n");
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(2000))) << client.lastError();
}

TEST_F(ProxyConnectionTest, ClientClosingBeforeTheResponseAbortsTheRequest) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/delay/5000")));
  ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
  // The default (nginx's): the request is given up at once, nothing is sent back.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(2000))) << client.lastError();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST_F(ProxyConnectionTest, ResponsesWithoutBodyKeepTheConnectionInSync) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));

  std::optional<Response> head = client.request("HEAD", "/");
  ASSERT_TRUE(head.has_value()) << client.lastError();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "5");
  EXPECT_EQ(head->body, "");
  std::optional<Response> get = client.request("GET", "/");
  ASSERT_TRUE(get.has_value()) << client.lastError();
  EXPECT_EQ(get->body, "blue\n");

  // HEAD of a large body and of a chunked one: nothing of either may follow the head.
  std::optional<Response> head_large = client.request("HEAD", "/bytes/100000");
  ASSERT_TRUE(head_large.has_value()) << client.lastError();
  EXPECT_EQ(head_large->header("Content-Length"), "100000");
  std::optional<Response> head_chunked = client.request("HEAD", "/bytes/1000?chunked=1");
  ASSERT_TRUE(head_chunked.has_value()) << client.lastError();
  EXPECT_EQ(head_chunked->status, 200);

  std::optional<Response> no_content = client.request("GET", "/status/204");
  ASSERT_TRUE(no_content.has_value()) << client.lastError();
  EXPECT_EQ(no_content->status, 204);
  EXPECT_EQ(no_content->body, "");
  EXPECT_FALSE(no_content->header("Transfer-Encoding").has_value());

  std::optional<Response> not_modified = client.request("GET", "/status/304");
  ASSERT_TRUE(not_modified.has_value()) << client.lastError();
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  EXPECT_FALSE(not_modified->header("Transfer-Encoding").has_value());

  // Anything stray after those heads would be parsed as the start of this response.
  std::optional<Response> last = client.request("GET", "/status/202");
  ASSERT_TRUE(last.has_value()) << client.lastError();
  EXPECT_EQ(last->status, 202);
  EXPECT_EQ(last->body, "blue\n");
  EXPECT_EQ(client.readRaw(1, milliseconds(50)), "");
  EXPECT_FALSE(client.peerClosed());
}

}  // namespace
}  // namespace sy::testing
