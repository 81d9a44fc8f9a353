// The client-side totals of /metrics (core/worker_stats.h): every request whose head was read,
// every response by status class whether a route answered it or not, every failed try against
// a backend, and the control thread's failed posts to workers.

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

std::string address(uint16_t port) { return absl::StrCat("127.0.0.1:", port); }

class ClientTotalsTest : public AdminProxyTest {};

TEST_F(ClientTotalsTest, CountEveryRequestEveryResponseClassAndEveryFailedTry) {
  ASSERT_NO_FATAL_FAILURE(startBackend("live"));
  const uint16_t dead = refusingPort();
  ASSERT_NE(dead, 0);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      "[[pools]]\nname = \"live\"\nbackends = [\"", address(backendPort(0)), "\"]\n\n",
      "[[pools]]\nname = \"dead\"\nbackends = [\"", address(dead),
      "\"]\noutlier_detection = { consecutive_failures = 0 }\n\n",
      "[[routes]]\nname = \"live\"\nhosts = [\"live.test\"]\npool = \"live\"\n\n",
      "[[routes]]\nname = \"dead\"\nhosts = [\"dead.test\"]\npool = \"dead\"\nretries = 0\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());

  constexpr int kLive = 5;
  constexpr int kNoRoute = 3;
  constexpr int kDead = 2;
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  auto send = [&](const char* host, int count, int status) {
    for (int i = 0; i < count; ++i) {
      std::optional<Response> response = client.request("GET", "/", {{"Host", host}});
      ASSERT_TRUE(response.has_value()) << client.lastError();
      ASSERT_EQ(response->status, status) << host;
    }
  };
  ASSERT_NO_FATAL_FAILURE(send("live.test", kLive, 200));
  ASSERT_NO_FATAL_FAILURE(send("nowhere.test", kNoRoute, 404));
  ASSERT_NO_FATAL_FAILURE(send("dead.test", kDead, 502));
  client.close();

  // Figures are updated as the responses leave: a scrape may come a moment early.
  constexpr int kTotal = kLive + kNoRoute + kDead;
  std::optional<Exposition> metrics;
  EXPECT_TRUE(waitUntil(
      [&] {
        absl::StatusOr<Exposition> scraped = scrapeMetrics(admin_port_);
        if (!scraped.ok()) return false;
        metrics = std::move(*scraped);
        return metrics->sum("switchyard_downstream_responses_total") == kTotal;
      },
      milliseconds(10000)));
  ASSERT_TRUE(metrics.has_value());
  const Exposition& m = *metrics;
  EXPECT_EQ(m.value("switchyard_downstream_requests_total"), std::optional<double>(kTotal));
  auto by_protocol = [&](const char* protocol) {
    return m.value("switchyard_downstream_requests_by_protocol_total", {{"protocol", protocol}});
  };
  EXPECT_EQ(by_protocol("HTTP/1.1"), std::optional<double>(kTotal));
  EXPECT_EQ(by_protocol("HTTP/1.0"), std::optional<double>(0)) << "every protocol from the start";
  EXPECT_EQ(by_protocol("HTTP/2.0"), std::optional<double>(0));
  auto responses = [&](const char* status_class) {
    return m.value("switchyard_downstream_responses_total", {{"class", status_class}});
  };
  EXPECT_EQ(responses("1xx"), std::optional<double>(0)) << "every class exists from the start";
  EXPECT_EQ(responses("2xx"), std::optional<double>(kLive));
  EXPECT_EQ(responses("3xx"), std::optional<double>(0));
  EXPECT_EQ(responses("4xx"), std::optional<double>(kNoRoute)) << "404 without a route counts";
  EXPECT_EQ(responses("5xx"), std::optional<double>(kDead));
  EXPECT_EQ(m.value("switchyard_upstream_failures_total"), std::optional<double>(kDead))
      << "one failed connect per request to the dead pool (retries = 0)";
  EXPECT_EQ(m.value("switchyard_worker_post_failures_total"), std::optional<double>(0));
  EXPECT_EQ(m.types().at("switchyard_downstream_responses_total"), "counter");
  EXPECT_EQ(m.types().at("switchyard_worker_post_failures_total"), "counter");
}

}  // namespace
}  // namespace sy::testing
