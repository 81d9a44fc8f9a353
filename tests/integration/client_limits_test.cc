// Limits against abusive clients over real sockets: clients are told apart by their source
// address (every 127.x.y.z is on the loopback interface, so one test can be many clients), and
// each limit refuses the client over it while another address goes on unaffected.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

class ClientLimitsTest : public AdminProxyTest {
 protected:
  // A connected client leaving from `source`.
  std::unique_ptr<HttpClient> clientFrom(const std::string& source) {
    auto client = std::make_unique<HttpClient>(seconds(10));
    client->setSourceAddress(source);
    EXPECT_TRUE(client->connect(port())) << source << ": " << client->lastError();
    return client;
  }
  // GET / on a fresh connection from `source`: the status, or 0 when there was no response.
  int getFrom(const std::string& source, const Headers& headers = {}) {
    std::unique_ptr<HttpClient> client = clientFrom(source);
    std::optional<Response> response = client->request("GET", "/", headers);
    return response ? response->status : 0;
  }
  double metric(std::string_view name, const Labels& labels) {
    absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    return metrics.ok() ? metrics->sum(name, labels) : -1;
  }
  double limited(std::string_view reason) {
    return metric("switchyard_limited_total",
                  {{"listener", "http"}, {"reason", std::string(reason)}});
  }
};

TEST_F(ClientLimitsTest, AClientOverItsRateGets429WithRetryAfterWhileAnotherAddressIsServed) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  TempDir dir;
  const std::string log = dir.file("access.log");
  // One request every 10 s after a burst of 3: the bucket cannot refill during the test.
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig(
          {.backends = {backendPort(0)}, .listener = "rate_limit = 0.1\nrate_limit_burst = 3\n"}) +
      absl::StrCat("[access_log]\npath = \"", log, "\"\nflush_interval = \"20ms\"\n")));

  std::unique_ptr<HttpClient> greedy = clientFrom("127.0.0.2");
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = greedy->request("GET", "/");
    ASSERT_TRUE(response) << greedy->lastError();
    EXPECT_EQ(response->status, 200) << "request " << i << " is within the burst";
  }
  std::optional<Response> refused = greedy->request("GET", "/");
  ASSERT_TRUE(refused) << greedy->lastError();
  EXPECT_EQ(refused->status, 429);
  ASSERT_TRUE(refused->header("Retry-After").has_value());
  int retry_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*refused->header("Retry-After"), &retry_after))
      << *refused->header("Retry-After");
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 10);
  // The refusal is a normal answer: the connection stays usable (and is refused again).
  EXPECT_TRUE(refused->keep_alive);
  std::optional<Response> again = greedy->request("GET", "/");
  ASSERT_TRUE(again) << greedy->lastError();
  EXPECT_EQ(again->status, 429);
  // A new connection from the same address shares its bucket.
  EXPECT_EQ(getFrom("127.0.0.2"), 429);

  // Another client is not affected.
  EXPECT_EQ(getFrom("127.0.0.3"), 200);
  EXPECT_EQ(getFrom("127.0.0.3"), 200);
  EXPECT_EQ(stats(0).requests, 5u) << "refused requests never reach the backend";

  EXPECT_EQ(limited("rate_limit"), 3);
  EXPECT_EQ(limited("conn_limit"), 0);
  EXPECT_EQ(metric("switchyard_client_table_entries", {{"listener", "http"}, {"table", "rate"}}),
            2);

  // The access log says which limit refused a request, and nothing for the others.
  std::vector<nlohmann::json> lines;
  ASSERT_TRUE(waitUntil(
      [&] {
        lines.clear();
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);) {
          if (auto json = parseJson(line)) lines.push_back(*json);
        }
        return lines.size() >= 8;
      },
      seconds(10)));
  int refused_lines = 0;
  for (const nlohmann::json& line : lines) {
    if (line["status"] == 429) {
      ++refused_lines;
      EXPECT_EQ(line["limited_by"], "rate_limit") << line.dump();
      EXPECT_EQ(line["client"], "127.0.0.2") << line.dump();
    } else {
      EXPECT_TRUE(line["limited_by"].is_null()) << line.dump();
    }
  }
  EXPECT_EQ(refused_lines, 3);
}

TEST_F(ClientLimitsTest, ARouteRateReplacesTheListenersAndZeroExemptsIt) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  const std::string pool =
      absl::StrCat("[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backendPort(0), "\"]\n");
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(absl::StrCat(
      "[server]\nworkers = 1\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
      "rate_limit = 0.1\nrate_limit_burst = 1\n",
      pool,
      "[[routes]]\nname = \"health\"\npath_prefix = \"/health\"\npool = \"app\"\nrate_limit = 0\n"
      "[[routes]]\nname = \"api\"\npath_prefix = \"/api\"\npool = \"app\"\nrate_limit = 0.1\n"
      "rate_limit_burst = 2\n"
      "[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  std::unique_ptr<HttpClient> client = clientFrom("127.0.0.2");
  auto status = [&](std::string_view path) {
    std::optional<Response> response = client->request("GET", path);
    EXPECT_TRUE(response) << client->lastError();
    return response ? response->status : 0;
  };
  EXPECT_EQ(status("/"), 200);
  EXPECT_EQ(status("/"), 429);  // the listener's burst of 1 is spent
  for (int i = 0; i < 10; ++i) EXPECT_EQ(status("/health"), 200) << "exempt route";
  EXPECT_EQ(status("/api/a"), 200);  // the route's own bucket of 2
  EXPECT_EQ(status("/api/b"), 200);
  EXPECT_EQ(status("/api/c"), 429);
}

TEST_F(ClientLimitsTest, AConnectionFloodFromOneAddressIsCappedWhileAnotherConnects) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0)}, .listener = "max_connections_per_ip = 3\n"})));

  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(clientFrom("127.0.0.2"));
    std::optional<Response> response = held.back()->request("GET", "/");
    ASSERT_TRUE(response) << held.back()->lastError();
    EXPECT_EQ(response->status, 200);
  }
  // The flood: more connections from the same address are accepted and closed at once.
  for (int i = 0; i < 5; ++i) {
    std::unique_ptr<HttpClient> extra = clientFrom("127.0.0.2");
    EXPECT_TRUE(extra->waitForPeerClose(seconds(10))) << "connection " << i << " was not closed";
  }
  EXPECT_EQ(limited("ip_conn_limit"), 5);
  EXPECT_EQ(
      metric("switchyard_client_table_entries", {{"listener", "http"}, {"table", "connections"}}),
      1);
  // Another address connects and is served.
  EXPECT_EQ(getFrom("127.0.0.3"), 200);
  // The held connections still work.
  for (auto& client : held) {
    std::optional<Response> response = client->request("GET", "/");
    ASSERT_TRUE(response) << client->lastError();
    EXPECT_EQ(response->status, 200);
  }
  // Closing one frees a place for the address.
  held.pop_back();
  EXPECT_TRUE(waitUntil([&] { return getFrom("127.0.0.2") == 200; }, seconds(10)));
}

TEST_F(ClientLimitsTest, TheListenerCapClosesExtraConnectionsAndCountsThem) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0)}, .workers = 2, .listener = "max_connections = 2\n"})));

  std::vector<std::unique_ptr<HttpClient>> held;
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    held.push_back(clientFrom(source));
    std::optional<Response> response = held.back()->request("GET", "/");
    ASSERT_TRUE(response) << held.back()->lastError();
    EXPECT_EQ(response->status, 200);
  }
  // The cap is for the listener as a whole, whichever worker accepts.
  for (const char* source : {"127.0.0.4", "127.0.0.5", "127.0.0.2"}) {
    std::unique_ptr<HttpClient> extra = clientFrom(source);
    EXPECT_TRUE(extra->waitForPeerClose(seconds(10))) << source << " was not closed";
  }
  EXPECT_EQ(limited("conn_limit"), 3);
  EXPECT_EQ(metric("switchyard_listener_connections_open", {{"listener", "http"}}), 2);
  held.clear();
  EXPECT_TRUE(waitUntil([&] { return getFrom("127.0.0.4") == 200; }, seconds(10)));
}

TEST_F(ClientLimitsTest, TheRateTableStaysWithinItsSizeUnderManySourceAddresses) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  // 1024 is the smallest table; 1,300 addresses overflow it. (The table itself is tested with
  // 100,000 addresses in tests/unit/core/lru_table_test.cc and unit/proxy.)
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0)}, .listener = "rate_limit = 1\nclient_table_size = 1024\n"})));
  constexpr int kAddresses = 1300;
  for (int i = 0; i < kAddresses; ++i) {
    const std::string source = absl::StrCat("127.1.", i / 250, ".", 1 + i % 250);
    ASSERT_EQ(getFrom(source), 200) << source;
    if (i % 256 == 255) {
      EXPECT_LE(
          metric("switchyard_client_table_entries", {{"listener", "http"}, {"table", "rate"}}),
          1024);
    }
  }
  EXPECT_EQ(metric("switchyard_client_table_entries", {{"listener", "http"}, {"table", "rate"}}),
            1024);
  EXPECT_EQ(limited("rate_limit"), 0);
  // The first address was forgotten: it starts again with a full bucket. The latest is
  // remembered: its one-request burst is spent.
  EXPECT_EQ(getFrom("127.1.0.1"), 200);
  EXPECT_EQ(
      getFrom(absl::StrCat("127.1.", (kAddresses - 1) / 250, ".", 1 + (kAddresses - 1) % 250)),
      429);
}

TEST_F(ClientLimitsTest, XForwardedForIsHonouredOnlyFromTrustedProxies) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0)},
       .listener =
           "rate_limit = 0.1\nrate_limit_burst = 1\ntrusted_proxies = [\"127.0.0.2\"]\n"})));
  const Headers client_a = {{"X-Forwarded-For", "203.0.113.1"}};
  const Headers client_b = {{"X-Forwarded-For", "198.51.100.7, 203.0.113.2"}};
  // Through the trusted proxy, each forwarded client has its own bucket.
  EXPECT_EQ(getFrom("127.0.0.2", client_a), 200);
  EXPECT_EQ(getFrom("127.0.0.2", client_a), 429);
  EXPECT_EQ(getFrom("127.0.0.2", client_b), 200);
  EXPECT_EQ(getFrom("127.0.0.2", {{"X-Forwarded-For", "203.0.113.3"}}), 200);
  // From an untrusted peer the header is the client's own claim: the peer is the client.
  EXPECT_EQ(getFrom("127.0.0.3", {{"X-Forwarded-For", "203.0.113.4"}}), 200);
  EXPECT_EQ(getFrom("127.0.0.3", {{"X-Forwarded-For", "203.0.113.5"}}), 429);
  // A client forging the left part of the chain through the trusted proxy gains nothing.
  EXPECT_EQ(getFrom("127.0.0.2", {{"X-Forwarded-For", "192.0.2.99, 203.0.113.1"}}), 429);
  EXPECT_EQ(limited("rate_limit"), 3);
}

}  // namespace
}  // namespace sy::testing
