// SnapshotBuilder: routes resolved against the pools (file or runtime traffic state), pools reused
// for the same Config object, stable ids and backend stats carried across rebuilds.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/stable_hash.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::routing {
namespace {

using config::BalancerKind;
using config::HashKeyConfig;
using config::MatchRuleConfig;

// Three pools (indices 0, 1, 2 in the snapshot); "web" runs on green with a gray canary.
constexpr std::string_view kConfig = R"([[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081", { address = "127.0.0.1:8082", weight = 2 }]
[[pools]]
name = "green"
backends = ["127.0.0.1:8083"]
[[pools]]
name = "gray"
balancer = "hash"
hash_key = "client_ip"
backends = ["127.0.0.1:8081", "127.0.0.1:8085"]
[[routes]]
name = "web"
pool = "green"
sticky = "cookie:sid"
pool_header = "X-Pool"
canary = { pool = "gray", weight = 0.5 }
[[routes.rules]]
header = "x-version"
equals = "old"
pool = "blue"
[[routes]]
name = "api"
path_prefix = "/api/"
pool = "blue"
)";

std::shared_ptr<const config::Config> load(std::string_view text) {
  config::LoadResult result = config::parseConfigText(text, "test.toml");
  EXPECT_TRUE(result.ok()) << config::formatErrors(result.errors);
  if (!result.config) return std::make_shared<const config::Config>();
  return std::make_shared<const config::Config>(std::move(*result.config));
}

// `text` with the first `from` replaced by `to`.
std::string edited(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const size_t at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

const Route& routeOf(const ConfigSnapshot& snapshot, std::string_view name) {
  const Route* route = snapshot.routes.find(name);
  EXPECT_NE(route, nullptr) << name;
  static const Route kMissing;
  return route != nullptr ? *route : kMissing;
}

TEST(SnapshotBuilderTest, RoutesFollowTheFileWithoutTrafficState) {
  SnapshotBuilder builder;
  const ConfigSnapshotPtr snapshot = builder.build(load(kConfig));
  ASSERT_EQ(snapshot->pools.size(), 3u);
  EXPECT_EQ(snapshot->poolIndex("blue"), 0);
  EXPECT_EQ(snapshot->poolIndex("green"), 1);
  EXPECT_EQ(snapshot->poolIndex("gray"), 2);
  EXPECT_EQ(snapshot->poolIndex("nope"), -1);

  const Route& web = routeOf(*snapshot, "web");
  EXPECT_EQ(web.pool_index, 1u);
  EXPECT_EQ(web.canary_pool_index, 2);
  EXPECT_EQ(web.canary_ppm, 5000u);  // 0.5% = 5,000 per million
  ASSERT_EQ(web.rules.size(), 1u);
  EXPECT_EQ(web.rules[0].pool_index, 0u);
  EXPECT_EQ(web.rules[0].source, MatchRuleConfig::Source::kHeader);
  EXPECT_EQ(web.rules[0].op, MatchRuleConfig::Op::kEquals);
  EXPECT_EQ(web.rules[0].name, "x-version");
  EXPECT_EQ(web.rules[0].value, "old");
  ASSERT_TRUE(web.sticky.has_value());
  EXPECT_EQ(web.sticky->source, HashKeyConfig::Source::kCookie);
  EXPECT_EQ(web.sticky->name, "sid");
  EXPECT_EQ(web.pool_header, "X-Pool");
  EXPECT_EQ(web.split_seed, core::stableHash("web"));

  const Route& api = routeOf(*snapshot, "api");
  EXPECT_EQ(api.pool_index, 0u);
  EXPECT_EQ(api.canary_pool_index, -1);
  EXPECT_EQ(api.canary_ppm, 0u);
  EXPECT_TRUE(api.rules.empty());
  EXPECT_NE(api.split_seed, web.split_seed);  // each route splits on its own
}

TEST(SnapshotBuilderTest, RoutesFollowTheTrafficState) {
  const auto config = load(kConfig);
  TrafficState traffic;
  traffic.reconcile(*config);
  ASSERT_TRUE(traffic.switchTo("web", "blue", *config).ok());
  ASSERT_TRUE(traffic.setCanary("web", "green", 12.5, *config).ok());
  ASSERT_TRUE(traffic.setCanary("api", "gray", 100, *config).ok());

  SnapshotBuilder builder;
  const ConfigSnapshotPtr snapshot = builder.build(config, &traffic);
  const Route& web = routeOf(*snapshot, "web");
  EXPECT_EQ(web.pool_index, 0u);
  EXPECT_EQ(web.canary_pool_index, 1);
  EXPECT_EQ(web.canary_ppm, 125000u);
  EXPECT_EQ(web.rules[0].pool_index, 0u);  // rules come from the file only
  const Route& api = routeOf(*snapshot, "api");
  EXPECT_EQ(api.canary_pool_index, 2);
  EXPECT_EQ(api.canary_ppm, 1000000u);
}

TEST(SnapshotBuilderTest, AnEndedCanaryOverridesTheFilesCanary) {
  const auto config = load(kConfig);
  TrafficState traffic;
  traffic.reconcile(*config);
  ASSERT_TRUE(traffic.setCanary("web", "", 0, *config).ok());
  SnapshotBuilder builder;
  const ConfigSnapshotPtr snapshot = builder.build(config, &traffic);
  const Route& web = routeOf(*snapshot, "web");
  EXPECT_EQ(web.pool_index, 1u);
  EXPECT_EQ(web.canary_pool_index, -1);
  EXPECT_EQ(web.canary_ppm, 0u);
}

TEST(SnapshotBuilderTest, CanaryPartsPerMillionAreRoundedFromTheWeight) {
  const auto config = load(kConfig);
  TrafficState traffic;
  traffic.reconcile(*config);
  SnapshotBuilder builder;
  const struct {
    double weight;
    uint32_t ppm;
  } kCases[] = {{0.5, 5000},       {0.0001, 1},    {1, 10000},
                {99.9999, 999999}, {100, 1000000}, {0.00004, 0}};
  for (const auto& c : kCases) {
    ASSERT_TRUE(traffic.setCanary("api", "green", c.weight, *config).ok());
    const ConfigSnapshotPtr snapshot = builder.build(config, &traffic);
    const Route& api = routeOf(*snapshot, "api");
    EXPECT_EQ(api.canary_ppm, c.ppm) << c.weight;
  }
}

TEST(SnapshotBuilderTest, SameConfigObjectReusesThePools) {
  const auto config = load(kConfig);
  TrafficState traffic;
  traffic.reconcile(*config);
  SnapshotBuilder builder;
  const ConfigSnapshotPtr first = builder.build(config, &traffic);
  ASSERT_TRUE(traffic.switchTo("web", "blue", *config).ok());  // a switch: same Config object
  const ConfigSnapshotPtr second = builder.build(config, &traffic);
  ASSERT_EQ(first->pools.size(), second->pools.size());
  for (size_t i = 0; i < first->pools.size(); ++i) {
    EXPECT_EQ(first->pools[i].get(), second->pools[i].get()) << first->pools[i]->name;
  }
  EXPECT_EQ(first->config.get(), second->config.get());
  EXPECT_EQ(routeOf(*second, "web").pool_index, 0u);
  EXPECT_EQ(routeOf(*first, "web").pool_index, 1u);  // published snapshots never change
}

TEST(SnapshotBuilderTest, NewConfigObjectRebuildsThePoolsWithTheSameIds) {
  SnapshotBuilder builder;
  const ConfigSnapshotPtr first = builder.build(load(kConfig));
  const ConfigSnapshotPtr second = builder.build(load(kConfig));  // same text, new object
  ASSERT_EQ(first->pools.size(), second->pools.size());
  for (size_t i = 0; i < first->pools.size(); ++i) {
    const upstream::PoolSnapshot& before = *first->pools[i];
    const upstream::PoolSnapshot& after = *second->pools[i];
    EXPECT_NE(&before, &after) << before.name;
    EXPECT_EQ(before.id, after.id) << before.name;
    ASSERT_EQ(before.backends.size(), after.backends.size());
    for (size_t b = 0; b < before.backends.size(); ++b) {
      // An unchanged backend keeps its very BackendInfo, so workers keep its connections.
      EXPECT_EQ(before.backends[b].info.get(), after.backends[b].info.get());
    }
  }
}

TEST(SnapshotBuilderTest, BackendIdsAndStatsSurviveAWeightChange) {
  SnapshotBuilder builder;
  builder.setWorkerCount(3);
  const ConfigSnapshotPtr first = builder.build(load(kConfig));
  const upstream::BackendInfo& old_info = *first->pools[0]->backends[1].info;
  old_info.stats->slot(2).requests.add(7);

  const ConfigSnapshotPtr second =
      builder.build(load(edited(kConfig, R"({ address = "127.0.0.1:8082", weight = 2 })",
                                R"({ address = "127.0.0.1:8082", weight = 9 })")));
  const upstream::BackendInfo& new_info = *second->pools[0]->backends[1].info;
  EXPECT_NE(&old_info, &new_info);
  EXPECT_EQ(new_info.weight, 9u);
  EXPECT_EQ(old_info.weight, 2u);  // the old snapshot is untouched
  EXPECT_EQ(new_info.id, old_info.id);
  EXPECT_EQ(new_info.stats.get(), old_info.stats.get());
  EXPECT_EQ(new_info.stats->sum(&upstream::BackendWorkerStats::requests), 7u);
  // The other backend of the pool is unchanged and keeps its BackendInfo.
  EXPECT_EQ(first->pools[0]->backends[0].info.get(), second->pools[0]->backends[0].info.get());
}

TEST(SnapshotBuilderTest, BackendIdsAreUniquePerPoolAndAddress) {
  SnapshotBuilder builder;
  const ConfigSnapshotPtr first = builder.build(load(kConfig));
  const upstream::PoolSnapshot& blue = *first->pools[0];
  const upstream::PoolSnapshot& gray = *first->pools[2];
  // 127.0.0.1:8081 is in blue and gray: two backends, two ids, two sets of counters.
  EXPECT_EQ(blue.backends[0].info->address_text, gray.backends[0].info->address_text);
  EXPECT_NE(blue.backends[0].info->id, gray.backends[0].info->id);
  EXPECT_NE(blue.backends[0].info->stats.get(), gray.backends[0].info->stats.get());

  // Pool and backend ids are all distinct and non-zero.
  std::vector<uint64_t> ids;
  for (const auto& pool : first->pools) {
    ids.push_back(pool->id);
    for (const auto& backend : pool->backends) ids.push_back(backend.info->id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_NE(ids[i], 0u);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(ids[i], ids[j]);
  }

  // A backend added by a reload gets a new id; the others keep theirs.
  const ConfigSnapshotPtr second =
      builder.build(load(edited(kConfig, R"(backends = ["127.0.0.1:8083"])",
                                R"(backends = ["127.0.0.1:8083", "127.0.0.1:8090"])")));
  const upstream::PoolSnapshot& green = *second->pools[1];
  ASSERT_EQ(green.backends.size(), 2u);
  EXPECT_EQ(green.backends[0].info->id, first->pools[1]->backends[0].info->id);
  for (const uint64_t id : ids) EXPECT_NE(green.backends[1].info->id, id);
}

TEST(SnapshotBuilderTest, PoolIdsFollowTheNameNotThePosition) {
  SnapshotBuilder builder;
  const ConfigSnapshotPtr first = builder.build(load(kConfig));
  // Drop blue (and the rule and route that use it): green and gray move up one place.
  std::string text = edited(kConfig, R"([[pools]]
name = "blue"
backends = ["127.0.0.1:8081", { address = "127.0.0.1:8082", weight = 2 }]
)",
                            "");
  text = edited(
      text, "[[routes.rules]]\nheader = \"x-version\"\nequals = \"old\"\npool = \"blue\"\n", "");
  text = edited(text, "path_prefix = \"/api/\"\npool = \"blue\"",
                "path_prefix = \"/api/\"\npool = \"green\"");
  const ConfigSnapshotPtr second = builder.build(load(text));
  ASSERT_EQ(second->pools.size(), 2u);
  EXPECT_EQ(second->pools[0]->name, "green");
  EXPECT_EQ(second->pools[0]->id, first->pools[1]->id);
  EXPECT_EQ(second->pools[1]->id, first->pools[2]->id);
  EXPECT_EQ(routeOf(*second, "web").pool_index, 0u);
  EXPECT_EQ(routeOf(*second, "web").canary_pool_index, 1);
}

TEST(SnapshotBuilderTest, PoolsCarryTheirSettings) {
  SnapshotBuilder builder;
  builder.setWorkerCount(4);
  const ConfigSnapshotPtr snapshot = builder.build(load(kConfig));
  const upstream::PoolSnapshot& blue = *snapshot->pools[0];
  EXPECT_EQ(blue.name, "blue");
  EXPECT_EQ(blue.settings.balancer, BalancerKind::kRoundRobin);
  EXPECT_EQ(blue.ring, nullptr);
  EXPECT_EQ(blue.eligible, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(blue.backends[1].info->weight, 2u);
  EXPECT_EQ(blue.backends[1].info->address.toString(), "127.0.0.1:8082");
  EXPECT_TRUE(blue.backends[1].eligible);
  const upstream::PoolSnapshot& gray = *snapshot->pools[2];
  EXPECT_EQ(gray.settings.balancer, BalancerKind::kHash);
  ASSERT_TRUE(gray.settings.hash_key.has_value());
  EXPECT_NE(gray.ring, nullptr);
}

TEST(SnapshotBuilderTest, GenerationIncrementsWithEveryBuild) {
  const auto config = load(kConfig);
  SnapshotBuilder builder;
  EXPECT_EQ(builder.lastGeneration(), 0u);
  EXPECT_EQ(builder.build(config)->generation, 1u);
  EXPECT_EQ(builder.build(config)->generation, 2u);
  EXPECT_EQ(builder.build(load(kConfig))->generation, 3u);
  EXPECT_EQ(builder.lastGeneration(), 3u);
}

}  // namespace
}  // namespace sy::routing
