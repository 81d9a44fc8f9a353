// Pools that follow DNS (`resolve = true`): names and SRV records stay unresolved in the loaded
// configuration, and the configuration in force has one backend per address in their place.

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

TEST(FollowedBackendsTest, SrvRecordsStayUnresolvedInAPoolThatFollowsDns) {
  config::LoadResult loaded = followedConfig(
      "resolve = true\nbackends = [{ srv = \"_http._tcp.app.switchyard.test\" }, "
      "\"app.switchyard.test:8080\"]");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().toString();
  const auto& backends = loaded.config->findPool("app")->backends;
  ASSERT_EQ(backends.size(), 2u);
  EXPECT_EQ(backends[0].srv, "_http._tcp.app.switchyard.test");
  EXPECT_EQ(backends[0].address_text, "_http._tcp.app.switchyard.test");
  EXPECT_TRUE(backends[0].followed());
  EXPECT_EQ(backends[1].host, "app.switchyard.test");
  EXPECT_TRUE(backends[1].srv.empty());
}

TEST(FollowedBackendsTest, BadSrvEntriesAreErrors) {
  EXPECT_ONLY_ERROR(followedConfig("backends = [{ srv = \"_http._tcp.a.test\" }]"), 5,
                    "pools[0].backends[0].srv", "only used in a pool with resolve = true");
  for (const char* bad : {"http.tcp.a.test", "_http._tcp", "_http.tcp.a.test", "_._tcp.a.test",
                          "_http._tcp..test", "_http._tcp.bad name"}) {
    EXPECT_ONLY_ERROR(
        followedConfig(std::string("resolve = true\nbackends = [{ srv = \"") + bad + "\" }]"), 6,
        "pools[0].backends[0].srv", "is not an SRV record name");
  }
  EXPECT_ONLY_ERROR(followedConfig("resolve = true\nbackends = [{ srv = 7 }]"), 6,
                    "pools[0].backends[0].srv", "an SRV record name");
  EXPECT_ONLY_ERROR(
      followedConfig("resolve = true\nbackends = [{ srv = \"_http._tcp.a.test\", address = "
                     "\"a.test:80\" }]"),
      6, "pools[0].backends[0].srv", "either address or srv");
  EXPECT_ONLY_ERROR(
      followedConfig("resolve = true\nbackends = [{ srv = \"_http._tcp.a.test\", weight = 2 }]"), 6,
      "pools[0].backends[0].weight", "the SRV record gives each target's weight");
  EXPECT_ONLY_ERROR(followedConfig("resolve = true\nbackends = [{ weight = 2 }]"), 6,
                    "pools[0].backends[0].address", "required");
  EXPECT_ONLY_ERROR(followedConfig("resolve = true\nbackends = [{ srv = \"_http._tcp.a.test\" }, "
                                   "{ srv = \"_http._tcp.a.test\" }]"),
                    6, "pools[0].backends[1].srv", "duplicate backend");
}

TEST(FollowedBackendsTest, SrvTargetsHaveTheirRecordsWeights) {
  config::LoadResult loaded =
      followedConfig("resolve = true\nbackends = [{ srv = \"_http._tcp.a.test\" }]");
  ASSERT_TRUE(loaded.ok());
  FollowedBackends followed;
  FollowedName& srv = followed["app"]["_http._tcp.a.test"];
  srv.addresses = {followedAddress("127.0.0.1:8081"), followedAddress("127.0.0.1:8082")};
  srv.draining = {followedAddress("127.0.0.1:8083")};
  srv.weights = {{"127.0.0.1:8081", 1}, {"127.0.0.1:8082", 3}, {"127.0.0.1:8083", 5}};
  auto in_force = expandFollowedBackends(*loaded.config, followed);
  EXPECT_THAT(followedList(*in_force),
              ElementsAre("127.0.0.1:8081*1", "127.0.0.1:8082*3", "127.0.0.1:8083*5"));
}

}  // namespace
}  // namespace sy::routing
