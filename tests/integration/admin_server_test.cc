// The admin listener under clients that pipeline, stall, send too much or open too many
// connections: it answers in order, keeps the control thread free, and stays available.

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AdminServerTest : public AdminProxyTest {
 protected:
  void start(const std::string& admin_extra = "", const ChildProcess::Env& env = {}) {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    startProxyToml(absl::StrCat(simpleConfig({.backends = {backendPort(0)}}),
                                "[admin]\nlisten = \"127.0.0.1:0\"\n", admin_extra),
                   env);
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }

  // The admin API still answers on a fresh connection, and the proxy still serves: nothing is
  // stuck on the control thread.
  void expectResponsive() {
    AdminResult health = adminCall(admin_port_, "GET", "/healthz");
    EXPECT_EQ(health.status, 200) << health.error;
    AdminResult ready = adminCall(admin_port_, "GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.error;
  }

  // Reads `count` responses from `client`, in order.
  std::vector<Response> readResponses(HttpClient& client, size_t count) {
    std::vector<Response> responses;
    for (size_t i = 0; i < count; ++i) {
      std::optional<Response> response = client.readResponse();
      if (!response.has_value()) {
        ADD_FAILURE() << "response " << i << ": " << client.lastError();
        break;
      }
      responses.push_back(*response);
    }
    return responses;
  }
};

TEST_F(AdminServerTest, TwoPipelinedRequestsGetTwoAnswersAndTheControlThreadStaysFree) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  ASSERT_TRUE(
      client.sendRaw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz "
                     "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::vector<Response> responses = readResponses(client, 2);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 200);
  // The connection is still usable for a third request.
  std::optional<Response> third = client.request("GET", "/readyz");
  ASSERT_TRUE(third.has_value()) << client.lastError();
  EXPECT_EQ(third->status, 200);
  expectResponsive();
}

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  // A mix of answers (200, 404, the status JSON, 200, 400), each distinguishable.
  std::string requests;
  const std::vector<std::string> targets = {"/healthz", "/admin/nothing-here", "/admin/status",
                                            "/readyz", "/admin/status?x=1"};
  for (const std::string& target : targets) {
    absl::StrAppend(&requests, "GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  ASSERT_TRUE(client.sendRaw(requests));
  std::vector<Response> responses = readResponses(client, targets.size());
  ASSERT_EQ(responses.size(), targets.size());
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_NE(responses[0].body.find("\"ok\""), std::string::npos);
  EXPECT_EQ(responses[1].status, 404);
  EXPECT_EQ(responses[2].status, 200);
  EXPECT_NE(responses[2].body.find("\"routes\""), std::string::npos);
  EXPECT_EQ(responses[3].status, 200);
  EXPECT_EQ(responses[4].status, 400);  // unknown parameter
  expectResponsive();
}

TEST_F(AdminServerTest, KeepAliveGetThenPostWithEmptyBodyAsPythonSendsIt) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  std::optional<Response> status = client.request("GET", "/admin/status");
  ASSERT_TRUE(status.has_value()) << client.lastError();
  EXPECT_EQ(status->status, 200);
  std::optional<Response> rollback =
      client.request("POST", "/admin/rollback", {{"Content-Length", "0"}});
  ASSERT_TRUE(rollback.has_value()) << client.lastError();
  EXPECT_EQ(rollback->status, 409);  // nothing to roll back to: an answer, not a hang
  expectResponsive();
}

TEST_F(AdminServerTest, PipelinedRequestsRefusedForTheTokenAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(
      start("token_env = \"SY_TEST_ADMIN_TOKEN\"\n", {{"SY_TEST_ADMIN_TOKEN", "secret-token"}}));
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  ASSERT_TRUE(client.sendRaw(
      "GET /admin/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "POST /admin/switch?to=blue HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
      "GET /admin/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
      "secret-token\r\n\r\n"));
  std::vector<Response> responses = readResponses(client, 3);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].status, 401);
  EXPECT_EQ(responses[1].status, 401);
  EXPECT_EQ(responses[2].status, 200);
  expectResponsive();
}

TEST_F(AdminServerTest, PipelinedRequestsFollowedByACloseAreAllAnswered) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  ASSERT_TRUE(
      client.sendRaw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /readyz "
                     "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
  std::vector<Response> responses = readResponses(client, 2);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 200);
  EXPECT_TRUE(client.waitForPeerClose(seconds(10)));
  expectResponsive();
}

TEST_F(AdminServerTest, DeclaredBodyOverTheLimitIsRefusedFromTheHead) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  // Only the head is sent: the answer must not wait for the 1 MB the head announces.
  ASSERT_TRUE(client.sendRaw(
      "POST /admin/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->header("connection").value_or(""), "close");
  EXPECT_TRUE(client.waitForPeerClose(seconds(10)));
  expectResponsive();
}

TEST_F(AdminServerTest, ChunkedBodyIsRefusedOnceItPassesTheLimit) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  ASSERT_TRUE(client.sendRaw(
      "POST /admin/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = absl::StrCat("8000\r\n", std::string(0x8000, 'x'), "\r\n");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.sendRaw(chunk));  // 96 KiB, no last chunk
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.waitForPeerClose(seconds(10)));
  expectResponsive();
}

TEST_F(AdminServerTest, BodyWithinTheLimitIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  std::optional<Response> response =
      client.request("POST", "/admin/rollback", {}, std::string(60 * 1024, 'x'));
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 409);
  std::optional<Response> next = client.request("GET", "/healthz");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->status, 200);
}

TEST_F(AdminServerTest, ARequestThatStallsIsClosedAtItsDeadlineWhateverItSends) {
  ASSERT_NO_FATAL_FAILURE(start("request_timeout = \"500ms\"\n"));
  HttpClient client;
  ASSERT_TRUE(client.connect(admin_port_)) << client.lastError();
  // A slowloris: one byte of head at a time, well inside any idle timeout but never finishing.
  const std::string head = "GET /admin/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  const Clock::time_point start = Clock::now();
  bool closed = false;
  for (size_t i = 0; i < head.size() + 200 && !closed; ++i) {
    if (!client.sendRaw(std::string(1, i < head.size() ? head[i] : 'a'))) {
      closed = true;
      break;
    }
    closed = client.waitForPeerClose(milliseconds(50));
    if (elapsedMs(start) > 20000) break;
  }
  EXPECT_TRUE(closed || client.waitForPeerClose(seconds(10)))
      << "a request that never finishes must be closed at request_timeout";
  expectResponsive();
}

TEST_F(AdminServerTest, ConnectionsBeyondTheCapAreClosedAndSlotsComeBack) {
  ASSERT_NO_FATAL_FAILURE(start("max_connections = 3\n"));
  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<HttpClient>());
    ASSERT_TRUE(held.back()->connect(admin_port_)) << held.back()->lastError();
    // A completed request proves this connection holds a slot.
    std::optional<Response> response = held.back()->request("GET", "/healthz");
    ASSERT_TRUE(response.has_value()) << held.back()->lastError();
  }
  HttpClient extra;
  ASSERT_TRUE(extra.connect(admin_port_)) << extra.lastError();
  EXPECT_TRUE(extra.waitForPeerClose(seconds(10))) << "a fourth connection must be closed";
  // A held connection still works, and freeing one slot lets a new client in.
  std::optional<Response> still = held[0]->request("GET", "/healthz");
  ASSERT_TRUE(still.has_value()) << held[0]->lastError();
  EXPECT_EQ(still->status, 200);
  held.pop_back();
  bool served = waitUntil(
      [&] {
        HttpClient fresh(seconds(2));
        if (!fresh.connect(admin_port_)) return false;
        std::optional<Response> response = fresh.request("GET", "/healthz");
        return response.has_value() && response->status == 200;
      },
      seconds(10));
  EXPECT_TRUE(served) << "a freed slot must admit a new connection";
}

}  // namespace
}  // namespace sy::testing
