// Which configuration runs: -c, then SWITCHYARD_CONFIG, then sidecar mode, then the demo.

#include "proxy/config_choice.h"

#include <map>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"

namespace sy::proxy {
namespace {

routing::config::EnvLookup fakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

using Origin = ConfigChoice::Origin;

TEST(ConfigChoiceTest, FirstMatchWins) {
  const auto all = fakeEnv({{"SWITCHYARD_CONFIG", "/env.toml"}, {"SWITCHYARD_UPSTREAM", "a:1"}});
  auto choice = chooseConfig("/cli.toml", "demo", all);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->origin, Origin::kCommandLine);
  EXPECT_EQ(choice->source.path, "/cli.toml");

  choice = chooseConfig("", "demo", all);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->origin, Origin::kConfigEnv);
  EXPECT_EQ(choice->source.path, "/env.toml");

  // An empty SWITCHYARD_CONFIG (a pod spec switching off an image default) counts as unset.
  choice = chooseConfig(
      "", "demo", fakeEnv({{"SWITCHYARD_CONFIG", ""}, {"SWITCHYARD_UPSTREAM", "127.0.0.1:1"}}));
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->origin, Origin::kSidecarEnv);
  EXPECT_TRUE(choice->source.path.empty());

  choice = chooseConfig("", "demo text", fakeEnv({}));
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->origin, Origin::kEmbeddedDemo);
  EXPECT_EQ(choice->source.embedded_text, "demo text");

  EXPECT_FALSE(chooseConfig("", "demo", fakeEnv({{"SWITCHYARD_UPSTREAM", ""}})).ok());
}

TEST(ConfigChoiceTest, SidecarDefaultsAreOneListenerOnePoolLoopbackAdmin) {
  const std::string toml = sidecarConfigToml(fakeEnv({{"SWITCHYARD_UPSTREAM", "127.0.0.1:3000"}}));
  const auto result = routing::config::parseConfigText(toml, "sidecar");
  ASSERT_TRUE(result.ok()) << routing::config::formatErrors(result.errors) << toml;
  const routing::config::Config& config = *result.config;
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].listen_text, "0.0.0.0:8080");
  EXPECT_EQ(config.admin.listen_text, "127.0.0.1:9901");
  ASSERT_EQ(config.pools.size(), 1u);
  ASSERT_EQ(config.pools[0].backends.size(), 1u);
  EXPECT_EQ(config.pools[0].backends[0].address_text, "127.0.0.1:3000");
  EXPECT_FALSE(config.access_log.has_value());
}

TEST(ConfigChoiceTest, SidecarVariablesSetTheirKeys) {
  const std::string toml = sidecarConfigToml(fakeEnv({
      {"SWITCHYARD_UPSTREAM", "127.0.0.1:3000, 127.0.0.1:3001"},
      {"SWITCHYARD_LISTEN", "127.0.0.1:8000"},
      {"SWITCHYARD_ADMIN", "0.0.0.0:9901"},
      {"SWITCHYARD_ADMIN_TOKEN", "secret"},
      {"SWITCHYARD_SHUTDOWN_TIMEOUT", "20s"},
      {"SWITCHYARD_ACCESS_LOG", "/tmp/a$$b.log"},
  }));
  const auto result = routing::config::parseConfigText(toml, "sidecar");
  ASSERT_TRUE(result.ok()) << routing::config::formatErrors(result.errors) << toml;
  const routing::config::Config& config = *result.config;
  EXPECT_EQ(config.listeners[0].listen_text, "127.0.0.1:8000");
  EXPECT_EQ(config.admin.listen_text, "0.0.0.0:9901");
  EXPECT_EQ(config.admin.token_env, "SWITCHYARD_ADMIN_TOKEN");
  ASSERT_EQ(config.pools[0].backends.size(), 2u);
  EXPECT_EQ(config.pools[0].backends[1].address_text, "127.0.0.1:3001");
  EXPECT_EQ(config.server.shutdown_timeout, absl::Seconds(20));
  ASSERT_TRUE(config.access_log.has_value());
  // A '$' in a variable's value is taken literally, never as a reference.
  EXPECT_EQ(config.access_log->path, "/tmp/a$$b.log");
}

}  // namespace
}  // namespace sy::proxy
