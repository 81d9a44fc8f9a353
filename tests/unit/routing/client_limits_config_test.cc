// Client limit keys of [[listeners]] and [[routes]]: defaults, accepted values, errors for bad
// ones, and what the snapshot makes of them.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using testing_util::parse;

// One listener (whose extra lines come first), one pool, one route (its lines come last).
std::string withLimits(std::string_view listener_lines, std::string_view route_lines = "") {
  return std::string("[[listeners]]\nlisten = \"127.0.0.1:8080\"\n") + std::string(listener_lines) +
         "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:8081\"]\n"
         "[[routes]]\nname = \"default\"\npool = \"blue\"\n" +
         std::string(route_lines);
}

TEST(ClientLimitsConfigTest, DefaultsLimitNothing) {
  const LoadResult result = parse(withLimits(""));
  ASSERT_TRUE(result.config.has_value());
  const ListenerConfig& listener = result.config->listeners[0];
  EXPECT_EQ(listener.max_connections, 0u);
  EXPECT_EQ(listener.max_connections_per_ip, 0u);
  EXPECT_EQ(listener.rate_limit, 0.0);
  EXPECT_EQ(listener.client_table_size, 100000u);
  EXPECT_TRUE(listener.trusted_proxies.empty());
  EXPECT_FALSE(result.config->routes[0].rate_limit.has_value());

  SnapshotBuilder builder;
  ConfigSnapshotPtr snapshot =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  const ClientLimitSettings& limits = snapshot->listeners[0].client_limits;
  EXPECT_FALSE(limits.rate.has_value());
  EXPECT_NE(snapshot->listeners[0].limit_state, nullptr);
}

TEST(ClientLimitsConfigTest, ValuesReachTheSnapshot) {
  const LoadResult result = parse(
      withLimits("max_connections = 5000\nmax_connections_per_ip = 20\nrate_limit = 2.5\n"
                 "client_table_size = 4096\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::1\"]\n",
                 "rate_limit = 100\nrate_limit_burst = 300\n"));
  ASSERT_TRUE(result.config.has_value()) << result.errors[0].toString();
  EXPECT_THAT(result.config->listeners[0].trusted_proxies,
              ::testing::ElementsAre("10.0.0.0/8", "2001:db8::1/128"));
  SnapshotBuilder builder;
  builder.setWorkerCount(4);
  ConfigSnapshotPtr snapshot =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  const ClientLimitSettings& limits = snapshot->listeners[0].client_limits;
  EXPECT_EQ(limits.max_connections, 5000u);
  EXPECT_EQ(limits.max_connections_per_ip, 20u);
  ASSERT_TRUE(limits.rate.has_value());
  EXPECT_EQ(limits.rate->rate, 2.5);
  EXPECT_EQ(limits.rate->burst, 3.0);  // unset: one second's worth, rounded up
  EXPECT_EQ(limits.rate->zone, 0u);
  EXPECT_EQ(limits.table_entries_per_worker, 1024u);  // 4096 over 4 workers
  ASSERT_EQ(limits.trusted_proxies.size(), 2u);
  const Route& route = snapshot->routes.routes()[0];
  ASSERT_TRUE(route.rate_limit.has_value());
  EXPECT_EQ(route.rate_limit->rate, 100.0);
  EXPECT_EQ(route.rate_limit->burst, 300.0);
  EXPECT_NE(route.rate_limit->zone, 0u);

  // The limit state outlives a rebuild: open connections keep counting across reloads.
  ConfigSnapshotPtr next =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  EXPECT_EQ(next->listeners[0].limit_state, snapshot->listeners[0].limit_state);
}

TEST(ClientLimitsConfigTest, ASlowRateGetsABurstOfOne) {
  const LoadResult result = parse(withLimits("rate_limit = 0.2\n"));
  ASSERT_TRUE(result.config.has_value());
  SnapshotBuilder builder;
  ConfigSnapshotPtr snapshot =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  EXPECT_EQ(snapshot->listeners[0].client_limits.rate->burst, 1.0);
}

TEST(ClientLimitsConfigTest, ARouteRateOfZeroExemptsTheRoute) {
  const LoadResult result = parse(withLimits("rate_limit = 1\n", "rate_limit = 0\n"));
  ASSERT_TRUE(result.config.has_value());
  SnapshotBuilder builder;
  ConfigSnapshotPtr snapshot =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  ASSERT_TRUE(snapshot->routes.routes()[0].rate_limit.has_value());
  EXPECT_EQ(snapshot->routes.routes()[0].rate_limit->rate, 0.0);
}

TEST(ClientLimitsConfigTest, ProxyProtocolIsOffByDefaultAndReachesTheSnapshot) {
  LoadResult result = parse(withLimits(""));
  ASSERT_TRUE(result.config.has_value());
  EXPECT_FALSE(result.config->listeners[0].proxy_protocol);
  result = parse(withLimits("proxy_protocol = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n"));
  ASSERT_TRUE(result.config.has_value()) << result.errors[0].toString();
  EXPECT_TRUE(result.config->listeners[0].proxy_protocol);
  SnapshotBuilder builder;
  ConfigSnapshotPtr snapshot =
      builder.build(std::make_shared<const Config>(*result.config), nullptr, nullptr);
  EXPECT_TRUE(snapshot->listeners[0].proxy_protocol);
  // Off, it needs nothing.
  EXPECT_TRUE(parse(withLimits("proxy_protocol = false\n")).config.has_value());
}

TEST(ClientLimitsConfigTest, BadValuesAreRejectedWithTheKeyAndTheExpectation) {
  struct Case {
    std::string listener_lines;
    std::string route_lines;
    int line;
    std::string key;
    std::string message;
  };
  const Case cases[] = {
      {"max_connections = -1\n", "", 3, "listeners[0].max_connections", "0"},
      {"max_connections = \"100\"\n", "", 3, "listeners[0].max_connections", "integer"},
      {"max_connections_per_ip = 2000000\n", "", 3, "listeners[0].max_connections_per_ip",
       "1000000"},
      {"rate_limit = -1\n", "", 3, "listeners[0].rate_limit", "0"},
      {"rate_limit = \"10r/s\"\n", "", 3, "listeners[0].rate_limit", "number"},
      {"rate_limit = 1\nrate_limit_burst = 0\n", "", 4, "listeners[0].rate_limit_burst", "1"},
      {"rate_limit_burst = 5\n", "", 3, "listeners[0].rate_limit_burst",
       "rate_limit_burst needs rate_limit above 0"},
      {"client_table_size = 10\n", "", 3, "listeners[0].client_table_size", "1024"},
      {"trusted_proxies = \"10.0.0.0/8\"\n", "", 3, "listeners[0].trusted_proxies", "array"},
      {"trusted_proxies = [\"10.0.0.1/8\"]\n", "", 3, "listeners[0].trusted_proxies[0]",
       "did you mean 10.0.0.0/8?"},
      {"trusted_proxies = [\"10.0.0.0/40\"]\n", "", 3, "listeners[0].trusted_proxies[0]",
       "prefix length of 0 to 32"},
      {"trusted_proxies = [\"proxy.local\"]\n", "", 3, "listeners[0].trusted_proxies[0]",
       "expected an IP address or CIDR range"},
      {"proxy_protocol = true\n", "", 3, "listeners[0].proxy_protocol",
       "proxy_protocol = true needs trusted_proxies"},
      {"proxy_protocol = \"v2\"\n", "", 3, "listeners[0].proxy_protocol", "true or false"},
      {"", "rate_limit = -3\n", 9, "routes[0].rate_limit", "0"},
      {"", "rate_limit_burst = 3\n", 9, "routes[0].rate_limit_burst",
       "rate_limit_burst needs rate_limit above 0"},
      {"", "rate_limit = 0\nrate_limit_burst = 3\n", 10, "routes[0].rate_limit_burst",
       "rate_limit_burst needs rate_limit above 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.listener_lines + c.route_lines);
    EXPECT_ONLY_ERROR(parse(withLimits(c.listener_lines, c.route_lines)), c.line, c.key, c.message);
  }
}

}  // namespace
}  // namespace sy::routing::config
