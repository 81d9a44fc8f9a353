// Loading good files: every value and default lands in the right field.

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing_util::parse;

const std::string kFixtures = std::string(SY_SOURCE_DIR) + "/tests/fixtures/config/";

TEST(ConfigLoaderTest, MinimalConfigGetsEveryDefault) {
  const LoadResult result = testing_util::parseWithMinimal("");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  ASSERT_TRUE(result.config.has_value());
  const Config& config = *result.config;
  EXPECT_EQ(config.path, "test.toml");

  EXPECT_EQ(config.server.workers, 0u);
  EXPECT_EQ(config.server.shutdown_timeout, absl::Seconds(30));
  EXPECT_EQ(config.server.state_file, "");

  EXPECT_EQ(config.admin.listen_text, "127.0.0.1:9901");
  EXPECT_EQ(config.admin.listen.toString(), "127.0.0.1:9901");
  EXPECT_EQ(config.admin.token, "");
  EXPECT_EQ(config.admin.token_env, "");
  EXPECT_TRUE(config.admin.tokens.empty());
  EXPECT_TRUE(config.admin.probes_listen_text.empty());

  ASSERT_EQ(config.listeners.size(), 1u);
  const ListenerConfig& listener = config.listeners[0];
  EXPECT_EQ(listener.name, "listener0");
  EXPECT_EQ(listener.listen_text, "127.0.0.1:8080");
  EXPECT_EQ(listener.listen.toString(), "127.0.0.1:8080");
  EXPECT_EQ(listener.header_timeout, absl::Seconds(10));
  EXPECT_EQ(listener.keepalive_timeout, absl::Seconds(75));
  EXPECT_EQ(listener.client_timeout, absl::Seconds(60));
  EXPECT_EQ(listener.max_url_bytes, 8192u);
  EXPECT_EQ(listener.max_header_bytes, 32768u);
  EXPECT_EQ(listener.max_headers, 100u);
  EXPECT_EQ(listener.backlog, 511u);
  EXPECT_EQ(listener.http2_max_concurrent_streams, 128u);
  EXPECT_EQ(listener.http2_max_header_list_size, 65536u);
  EXPECT_EQ(listener.http2_hpack_table_size, 4096u);
  EXPECT_EQ(listener.http2_response_hpack_table_size, 4096u);
  EXPECT_EQ(listener.http2_max_resets, 1000u);
  EXPECT_EQ(listener.http2_reset_interval, absl::Seconds(30));
  EXPECT_EQ(listener.http2_stall_timeout, absl::Seconds(30));
  EXPECT_EQ(listener.path_normalization, PathNormalization::kForward);
  EXPECT_TRUE(listener.merge_slashes);
  EXPECT_FALSE(listener.allow_encoded_slash);
  EXPECT_EQ(listener.position.line, 1);
  EXPECT_EQ(listener.position.column, 1);

  ASSERT_EQ(config.pools.size(), 1u);
  const PoolConfig& pool = config.pools[0];
  EXPECT_EQ(pool.name, "blue");
  EXPECT_EQ(pool.balancer, BalancerKind::kRoundRobin);
  EXPECT_FALSE(pool.hash_key.has_value());
  EXPECT_EQ(pool.connect_timeout, absl::Seconds(5));
  EXPECT_EQ(pool.response_timeout, absl::Seconds(60));
  EXPECT_EQ(pool.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(pool.keepalive_timeout, absl::Seconds(60));
  EXPECT_EQ(pool.keepalive_max_idle, 32u);
  EXPECT_EQ(pool.position.line, 3);
  ASSERT_EQ(pool.backends.size(), 1u);
  EXPECT_EQ(pool.backends[0].address_text, "127.0.0.1:8081");
  EXPECT_EQ(pool.backends[0].address.toString(), "127.0.0.1:8081");
  EXPECT_EQ(pool.backends[0].weight, 1u);
  EXPECT_EQ(pool.backends[0].position.line, 5);
  EXPECT_EQ(pool.backends[0].position.column, 13);

  ASSERT_EQ(config.routes.size(), 1u);
  const RouteConfig& route = config.routes[0];
  EXPECT_EQ(route.name, "default");
  EXPECT_THAT(route.hosts, IsEmpty());
  EXPECT_EQ(route.path_prefix, "/");
  EXPECT_EQ(route.pool, "blue");
  EXPECT_EQ(route.retries, 2u);
  EXPECT_EQ(route.position.line, 6);
  EXPECT_NE(config.findPool("blue"), nullptr);
}

TEST(ConfigLoaderTest, FullFixtureSetsEveryKey) {
  const LoadResult result = loadConfigFile(kFixtures + "full.toml");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const Config& config = *result.config;
  EXPECT_EQ(config.path, kFixtures + "full.toml");

  EXPECT_EQ(config.server.workers, 4u);
  EXPECT_EQ(config.server.shutdown_timeout, absl::Seconds(90));
  EXPECT_EQ(config.server.state_file, "/var/lib/switchyard/state.json");

  EXPECT_EQ(config.admin.listen.toString(), "0.0.0.0:9902");
  EXPECT_EQ(config.admin.token, "s3cret");
  EXPECT_EQ(config.admin.token_env, "");
  ASSERT_EQ(config.admin.tokens.size(), 1u);
  EXPECT_EQ(config.admin.tokens[0].name, "ci");
  EXPECT_EQ(config.admin.tokens[0].token_env, "SY_ADMIN_TOKEN");
  EXPECT_EQ(config.admin.tokens[0].role, AdminRole::kRead);
  EXPECT_EQ(config.admin.probes_listen.toString(), "0.0.0.0:9903");

  ASSERT_EQ(config.listeners.size(), 2u);
  const ListenerConfig& tls = config.listeners[0];
  EXPECT_EQ(tls.name, "public");
  EXPECT_EQ(tls.listen.toString(), "[::1]:8443");
  EXPECT_EQ(tls.header_timeout, absl::Seconds(2));
  EXPECT_EQ(tls.keepalive_timeout, absl::Seconds(15));
  EXPECT_EQ(tls.client_timeout, absl::Seconds(45));
  EXPECT_EQ(tls.max_url_bytes, 4096u);
  EXPECT_EQ(tls.max_header_bytes, 16384u);
  EXPECT_EQ(tls.max_headers, 50u);
  EXPECT_EQ(tls.backlog, 1024u);
  EXPECT_EQ(tls.path_normalization, PathNormalization::kReject);
  EXPECT_FALSE(tls.merge_slashes);
  EXPECT_TRUE(tls.allow_encoded_slash);
  EXPECT_EQ(tls.position.line, 13);
  // Unnamed listeners are named after their index, not after their position among the unnamed.
  EXPECT_EQ(config.listeners[1].name, "listener1");
  EXPECT_EQ(config.listeners[1].listen.port(), 0);

  ASSERT_EQ(config.pools.size(), 2u);
  const PoolConfig& blue = config.pools[0];
  EXPECT_EQ(blue.balancer, BalancerKind::kHash);
  ASSERT_TRUE(blue.hash_key.has_value());
  EXPECT_EQ(blue.hash_key->source, HashKeyConfig::Source::kHeader);
  EXPECT_EQ(blue.hash_key->name, "x-user-id");
  EXPECT_EQ(blue.hash_key->text, "header:X-User-ID");
  EXPECT_EQ(blue.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(blue.response_timeout, absl::Seconds(30));
  EXPECT_EQ(blue.idle_timeout, absl::Seconds(20));
  EXPECT_EQ(blue.keepalive_timeout, absl::Seconds(10));
  EXPECT_EQ(blue.keepalive_max_idle, 0u);
  ASSERT_EQ(blue.backends.size(), 2u);
  EXPECT_EQ(blue.backends[0].weight, 1u);
  EXPECT_EQ(blue.backends[0].position.line, 40);
  EXPECT_EQ(blue.backends[1].address_text, "[::1]:8082");
  EXPECT_EQ(blue.backends[1].address.toString(), "[::1]:8082");
  EXPECT_EQ(blue.backends[1].weight, 3u);
  EXPECT_EQ(blue.backends[1].position.line, 41);
  EXPECT_EQ(blue.backends[1].position.column, 3);

  const PoolConfig& green = config.pools[1];
  EXPECT_EQ(green.balancer, BalancerKind::kLeastRequest);
  ASSERT_EQ(green.backends.size(), 1u);
  EXPECT_EQ(green.backends[0].address_text, "localhost:8083");
  EXPECT_TRUE(green.backends[0].address.isLoopback());
  EXPECT_EQ(green.backends[0].address.port(), 8083);

  ASSERT_EQ(config.routes.size(), 2u);
  const RouteConfig& api = config.routes[0];
  EXPECT_THAT(api.hosts, ElementsAre("api.example.com", "*.example.org", "*"));
  EXPECT_EQ(api.path_prefix, "/api/");
  EXPECT_EQ(api.pool, "green");
  EXPECT_EQ(api.retries, 0u);
  EXPECT_EQ(config.routes[1].pool, "blue");
}

TEST(ConfigLoaderTest, DemoConfigIsValid) {
  const LoadResult result = loadConfigFile(std::string(SY_SOURCE_DIR) + "/conf/demo.toml");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const Config& config = *result.config;
  EXPECT_EQ(config.server.workers, 0u);
  EXPECT_EQ(config.admin.listen.toString(), "127.0.0.1:9901");
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].name, "http");
  EXPECT_EQ(config.listeners[0].listen.toString(), "127.0.0.1:8080");

  ASSERT_EQ(config.pools.size(), 2u);
  const PoolConfig* blue = config.findPool("blue");
  const PoolConfig* green = config.findPool("green");
  ASSERT_NE(blue, nullptr);
  ASSERT_NE(green, nullptr);
  ASSERT_EQ(blue->backends.size(), 2u);
  EXPECT_EQ(blue->backends[0].address.toString(), "127.0.0.1:8081");
  EXPECT_EQ(blue->backends[1].address.toString(), "127.0.0.1:8082");
  ASSERT_EQ(green->backends.size(), 2u);
  EXPECT_EQ(green->backends[0].address.toString(), "127.0.0.1:8083");
  EXPECT_EQ(green->backends[1].address.toString(), "127.0.0.1:8084");

  ASSERT_EQ(config.routes.size(), 1u);
  EXPECT_EQ(config.routes[0].name, "default");
  EXPECT_THAT(config.routes[0].hosts, IsEmpty());
  EXPECT_EQ(config.routes[0].path_prefix, "/");
  EXPECT_EQ(config.routes[0].pool, "blue");
}

TEST(ConfigLoaderTest, TablesMayComeInAnyOrder) {
  const LoadResult result = parse(R"(
[[routes]]
name = "default"
pool = "green"
[[pools]]
name = "green"
backends = ["127.0.0.1:8083"]
[[listeners]]
listen = "127.0.0.1:8080"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->routes[0].pool, "green");
}

TEST(ConfigLoaderTest, ArrayOfTablesFormForBackendsIsAccepted) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
[[pools.backends]]
address = "127.0.0.1:8081"
weight = 5
[[routes]]
name = "default"
pool = "blue"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  ASSERT_EQ(result.config->pools[0].backends.size(), 1u);
  EXPECT_EQ(result.config->pools[0].backends[0].weight, 5u);
}

TEST(ConfigLoaderTest, HashKeyForms) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "by-cookie"
balancer = "hash"
hash_key = "cookie:SessionID"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "by-ip"
balancer = "hash"
hash_key = "client_ip"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "by-ip"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const HashKeyConfig& cookie = *result.config->pools[0].hash_key;
  EXPECT_EQ(cookie.source, HashKeyConfig::Source::kCookie);
  EXPECT_EQ(cookie.name, "SessionID");  // cookie names are case-sensitive: kept as written
  const HashKeyConfig& ip = *result.config->pools[1].hash_key;
  EXPECT_EQ(ip.source, HashKeyConfig::Source::kClientIp);
  EXPECT_EQ(ip.name, "");
}

TEST(ConfigLoaderTest, AdminOffLoopbackIsAcceptedWithTokenEnv) {
  const LoadResult result = testing_util::parseWithMinimal(R"(
[admin]
listen = "0.0.0.0:9901"
token_env = "ADMIN_TOKEN"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->admin.token_env, "ADMIN_TOKEN");
}

TEST(ConfigLoaderTest, ListenersOnPortZeroMayRepeat) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:0"
[[listeners]]
listen = "127.0.0.1:0"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->listeners[0].name, "listener0");
  EXPECT_EQ(result.config->listeners[1].name, "listener1");
}

TEST(ConfigLoaderTest, MissingFileIsOneErrorWithoutPosition) {
  const LoadResult result = loadConfigFile(kFixtures + "does-not-exist.toml");
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 0);
  EXPECT_EQ(result.errors[0].key, "");
  EXPECT_EQ(result.errors[0].toString(),
            kFixtures +
                "does-not-exist.toml: cannot read the configuration file: No such file or "
                "directory");
}

TEST(ConfigLoaderTest, DirectoryIsNotAConfigFile) {
  const LoadResult result = loadConfigFile(kFixtures);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "cannot read the configuration file: Is a directory");
}

TEST(ConfigErrorTest, ToStringHasFileLineColumnKeyMessage) {
  const ConfigError error{"conf/bad.toml", 7, 11, "pools[0].backends[1].address",
                          "\"127.0.0.1:99999\" has an invalid port: expected 0-65535"};
  EXPECT_EQ(error.toString(),
            "conf/bad.toml:7:11: pools[0].backends[1].address: \"127.0.0.1:99999\" has an "
            "invalid port: expected 0-65535");
  const ConfigError no_key{"a.toml", 3, 1, "", "syntax"};
  EXPECT_EQ(no_key.toString(), "a.toml:3:1: syntax");
  EXPECT_EQ(formatErrors({error, no_key}), error.toString() + "\n" + no_key.toString() + "\n");
  EXPECT_EQ(formatErrors({}), "");
}

}  // namespace
}  // namespace sy::routing::config
