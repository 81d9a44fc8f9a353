// Upstream failures: what is retried on another backend (connect failures for every method,
// a connection broken before the response for idempotent methods only), and the 502 the client
// gets when nothing works.

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

class ProxyRetryTest : public ProxyTest {
 protected:
  // A local reply from the proxy itself, not something a backend sent.
  static void expectProxyError(const Response& response, int status) {
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.header("Server"), "switchyard");
    EXPECT_FALSE(response.header("X-Backend").has_value());
    EXPECT_LT(response.body.size(), 200u) << response.body;
    EXPECT_EQ(response.body.substr(0, 3), std::to_string(status)) << response.body;
  }
};

TEST_F(ProxyRetryTest, DeadBackendIsSkippedForEveryRequest) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {refusingPort(), backendPort(0)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 20; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << "request " << i << ": " << client.lastError();
    EXPECT_EQ(response->status, 200) << "request " << i << ": " << response->body;
    EXPECT_EQ(response->body, "blue\n");
  }
  // Nothing was sent to a backend that refused the connection, so a POST is retried too.
  for (int i = 0; i < 4; ++i) {
    std::optional<Response> response = client.request("POST", "/echo", {}, "payload");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 200) << response->body;
  }
  EXPECT_EQ(stats(0).requests, 24u);
}

TEST_F(ProxyRetryTest, OnlyBackendDeadGives502) {
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {refusingPort()}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> post = client.request("POST", "/echo", {}, "payload");
  ASSERT_TRUE(post.has_value()) << client.lastError();
  expectProxyError(*post, 502);
  // The request was read completely, so the client connection stays usable.
  std::optional<Response> get = client.request("GET", "/");
  ASSERT_TRUE(get.has_value()) << client.lastError();
  expectProxyError(*get, 502);
}

TEST_F(ProxyRetryTest, AllBackendsDeadGives502) {
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {refusingPort(), refusingPort(), refusingPort()}}));
  for (int i = 0; i < 3; ++i) {
    std::string error;
    std::optional<Response> response = httpGet(port(), "/", {}, &error);
    ASSERT_TRUE(response.has_value()) << error;
    expectProxyError(*response, 502);
  }
}

TEST_F(ProxyRetryTest, NoRetryWhenRetriesIsZero) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {refusingPort(), backendPort(0)}, .route = "retries = 0"}));
  int bad_gateway = 0;
  int ok = 0;
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 10; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    if (response->status == 502) ++bad_gateway;
    if (response->status == 200) ++ok;
  }
  // Round robin sends about half of the requests to the dead backend.
  EXPECT_GT(bad_gateway, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(bad_gateway + ok, 10);
  EXPECT_EQ(stats(0).requests, static_cast<uint64_t>(ok));
}

// The first backend reads each request, then resets the connection without answering.
class ProxyResetRetryTest : public ProxyRetryTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("resetter", {"--reset-rate", "1"}));
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0), backendPort(1)}}));
  }
};

TEST_F(ProxyResetRetryTest, IdempotentRequestIsRetriedOnAnotherBackend) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 10; ++i) {
    std::optional<Response> response = client.request(i % 2 == 0 ? "GET" : "PUT", "/echo");
    ASSERT_TRUE(response.has_value()) << "request " << i << ": " << client.lastError();
    EXPECT_EQ(response->status, 200) << "request " << i << ": " << response->body;
    EXPECT_EQ(response->header("X-Backend"), "blue");
  }
  // Round robin made some of them try the resetting backend first.
  EXPECT_GE(stats(0).requests, 1u);
  EXPECT_EQ(stats(1).requests, 10u);
}

TEST_F(ProxyResetRetryTest, PostIsNotRetriedAfterTheBackendReadIt) {
  int bad_gateway = 0;
  int ok = 0;
  for (int i = 0; i < 6; ++i) {
    HttpClient client;
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    std::optional<Response> response = client.request("POST", "/echo", {}, "charge the card");
    ASSERT_TRUE(response.has_value()) << "request " << i << ": " << client.lastError();
    if (response->status == 502) {
      ++bad_gateway;
      expectProxyError(*response, 502);
    } else {
      ++ok;
      EXPECT_EQ(response->status, 200);
      EXPECT_EQ(response->header("X-Backend"), "blue");
    }
  }
  // Each POST reached exactly one backend: the resetting one answered with a 502, never with a
  // second try on the healthy one.
  const BackendStats resetter = stats(0);
  const BackendStats healthy = stats(1);
  EXPECT_GT(bad_gateway, 0);
  EXPECT_EQ(resetter.requests, static_cast<uint64_t>(bad_gateway));
  EXPECT_EQ(healthy.requests, static_cast<uint64_t>(ok));
}

}  // namespace
}  // namespace sy::testing
