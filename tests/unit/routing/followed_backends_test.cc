// Pools that follow DNS (`resolve = true`): names stay unresolved in the loaded configuration,
// and the configuration in force has one backend per address in their place.

#include "routing/followed_backends.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing {
namespace {

using ::testing::ElementsAre;

config::LoadResult followedConfig(const std::string& pool_lines) {
  return config::testing_util::parse(
      "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n[[pools]]\nname = \"app\"\n" + pool_lines +
      "\n[[routes]]\nname = \"web\"\npool = \"app\"\n");
}

core::NetAddress followedAddress(const std::string& text) {
  return *core::NetAddress::parse(text, false);
}

std::vector<std::string> followedList(const config::Config& config) {
  std::vector<std::string> out;
  for (const auto& backend : config.findPool("app")->backends) {
    out.push_back(backend.address_text + "*" + std::to_string(backend.weight));
  }
  return out;
}

TEST(FollowedBackendsTest, NamesStayUnresolvedInAPoolThatFollowsDns) {
  config::LoadResult loaded = followedConfig(
      "resolve = true\nbackends = [\"app.switchyard.test:8080\", "
      "{ address = \"other.switchyard.test:9090\", weight = 3 }, \"127.0.0.1:7000\"]");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().toString();
  const auto& backends = loaded.config->findPool("app")->backends;
  ASSERT_EQ(backends.size(), 3u);
  EXPECT_EQ(backends[0].host, "app.switchyard.test");
  EXPECT_EQ(backends[0].port, 8080);
  EXPECT_EQ(backends[1].host, "other.switchyard.test");
  EXPECT_EQ(backends[1].weight, 3u);
  EXPECT_FALSE(backends[2].followed());
  EXPECT_EQ(backends[2].address.toString(), "127.0.0.1:7000");
  EXPECT_TRUE(loaded.config->findPool("app")->followsDns());
}

TEST(FollowedBackendsTest, BadNamesAndIntervalsAreErrors) {
  EXPECT_ONLY_ERROR(followedConfig("resolve = true\nbackends = [\"app.switchyard.test\"]"), 6,
                    "pools[0].backends[0]", "is not \"name:port\"");
  EXPECT_ONLY_ERROR(followedConfig("resolve = true\nbackends = [\"bad name:80\"]"), 6,
                    "pools[0].backends[0]", "a DNS name");
  EXPECT_ONLY_ERROR(
      followedConfig("resolve = true\nresolve_min_interval = \"10s\"\nresolve_max_interval = "
                     "\"1s\"\nbackends = [\"a.test:80\"]"),
      7, "pools[0].resolve_max_interval", "at least resolve_min_interval");
  EXPECT_ONLY_ERROR(followedConfig("resolve_min_interval = \"10s\"\nbackends = [\"127.0.0.1:80\"]"),
                    5, "pools[0].resolve_min_interval", "only used with resolve = true");
  EXPECT_ONLY_ERROR(
      followedConfig("resolve = true\nbackends = [\"a.test:80\", { address = \"a.test:80\" }]"), 6,
      "pools[0].backends[1].address", "duplicate backend");
}

TEST(FollowedBackendsTest, EveryAddressBecomesABackendWithTheNamesWeight) {
  config::LoadResult loaded = followedConfig(
      "resolve = true\nbackends = [{ address = \"a.test:8080\", weight = 2 }, \"b.test:8080\", "
      "\"127.0.0.9:8080\"]");
  ASSERT_TRUE(loaded.ok());
  FollowedBackends followed;
  followed["app"]["a.test:8080"].addresses = {followedAddress("127.0.0.2:8080"),
                                              followedAddress("127.0.0.3:8080")};
  followed["app"]["a.test:8080"].draining = {followedAddress("127.0.0.4:8080")};
  // An address both names have is one backend (the first name's weight).
  followed["app"]["b.test:8080"].addresses = {followedAddress("127.0.0.3:8080"),
                                              followedAddress("127.0.0.5:8080")};
  auto in_force = expandFollowedBackends(*loaded.config, followed);
  EXPECT_THAT(followedList(*in_force),
              ElementsAre("127.0.0.2:8080*2", "127.0.0.3:8080*2", "127.0.0.4:8080*2",
                          "127.0.0.5:8080*1", "127.0.0.9:8080*1"));
  for (const auto& backend : in_force->findPool("app")->backends) {
    EXPECT_FALSE(backend.followed());
  }
}

}  // namespace
}  // namespace sy::routing
