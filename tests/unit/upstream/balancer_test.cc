// Smooth weighted round robin, the shared exclusion rules and makeBalancer().

#include "upstream/balancer.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/upstream/test_pool.h"
#include "upstream/balancers.h"

namespace sy::upstream {
namespace {

using testing::BackendSpec;
using testing::FakeLoad;
using testing::makeEqualPool;
using testing::makePool;
using testing::withExclude;
using testing::withHash;

std::string pickSequence(Balancer& balancer, const PoolSnapshot& pool, int picks) {
  std::string sequence;
  for (int i = 0; i < picks; ++i) {
    const int index = balancer.pick({});
    sequence +=
        index < 0 ? std::string("-") : pool.backends[static_cast<size_t>(index)].info->address_text;
  }
  return sequence;
}

TEST(RoundRobinTest, FiveOneOneIsNginxSmoothSequence) {
  auto pool = makePool({{"a", 5}, {"b", 1}, {"c", 1}});
  RoundRobinBalancer balancer(pool);
  ASSERT_TRUE(balancer.usesSchedule());
  EXPECT_EQ(pickSequence(balancer, *pool, 14),
            "aabacaa"
            "aabacaa");
}

TEST(RoundRobinTest, StartOffsetRotatesTheSameCycle) {
  auto pool = makePool({{"a", 5}, {"b", 1}, {"c", 1}});
  RoundRobinBalancer balancer(pool, RoundRobinBalancer::kMaxScheduleLength, /*start=*/9);
  EXPECT_EQ(pickSequence(balancer, *pool, 7), "bacaaaa");  // "aabacaa" from 9 % 7 = 2
}

TEST(RoundRobinTest, StepModeGivesTheSameFiveOneOneSequence) {
  auto pool = makePool({{"a", 5}, {"b", 1}, {"c", 1}});
  RoundRobinBalancer balancer(pool, /*max_schedule_length=*/0);
  ASSERT_FALSE(balancer.usesSchedule());
  EXPECT_EQ(pickSequence(balancer, *pool, 14),
            "aabacaa"
            "aabacaa");
}

TEST(RoundRobinTest, WeightsOneTwoThreeExactInEveryPeriod) {
  auto pool = makePool({{"a", 1}, {"b", 2}, {"c", 3}});
  for (size_t max_schedule : {RoundRobinBalancer::kMaxScheduleLength, size_t{0}}) {
    RoundRobinBalancer balancer(pool, max_schedule);
    std::vector<int> total(3);
    for (int period = 0; period < 1000; ++period) {
      std::vector<int> counts(3);
      for (int i = 0; i < 6; ++i) {
        const int index = balancer.pick({});
        ASSERT_GE(index, 0);
        ++counts[static_cast<size_t>(index)];
      }
      ASSERT_EQ(counts, (std::vector<int>{1, 2, 3})) << "period " << period;
      for (size_t b = 0; b < 3; ++b) total[b] += counts[b];
    }
    EXPECT_EQ(total, (std::vector<int>{1000, 2000, 3000}));
  }
}

TEST(RoundRobinTest, EqualWeightsCycleInOrder) {
  auto pool = makePool({{"a", 3}, {"b", 3}, {"c", 3}});
  RoundRobinBalancer balancer(pool);
  EXPECT_EQ(pickSequence(balancer, *pool, 6), "abcabc");
}

// The recorded period must replay exactly what running nginx's algorithm on every pick yields.
TEST(RoundRobinTest, ScheduleMatchesStepModeForRandomWeights) {
  FastRandom random(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BackendSpec> specs;
    const uint32_t count = 1 + random.below(12);
    const uint32_t max_weight = trial % 2 == 0 ? 5 : 100;
    for (uint32_t i = 0; i < count; ++i) {
      specs.push_back({"b" + std::to_string(i), 1 + random.below(max_weight), true});
    }
    auto pool = makePool(specs);
    RoundRobinBalancer scheduled(pool);
    RoundRobinBalancer stepped(pool, 0);
    ASSERT_TRUE(scheduled.usesSchedule());
    ASSERT_FALSE(stepped.usesSchedule());
    uint32_t period = 0;
    for (const BackendSpec& spec : specs) period += spec.weight;
    for (uint32_t i = 0; i < 3 * period; ++i) {
      ASSERT_EQ(scheduled.pick({}), stepped.pick({})) << "trial " << trial << " pick " << i;
    }
  }
}

TEST(RoundRobinTest, LongPeriodFallsBackToStepModeWithExactProportions) {
  // A period of 1000 + 63 * 999 picks is longer than kMaxScheduleLength.
  std::vector<BackendSpec> specs;
  for (int i = 0; i < 64; ++i) specs.push_back({"b" + std::to_string(i), i == 0 ? 1000u : 999u});
  auto pool = makePool(specs);
  RoundRobinBalancer balancer(pool);
  EXPECT_FALSE(balancer.usesSchedule());
  std::vector<int> counts(64);
  const int period = 1000 + 63 * 999;
  for (int i = 0; i < period; ++i) ++counts[static_cast<size_t>(balancer.pick({}))];
  EXPECT_EQ(counts[0], 1000);
  for (size_t i = 1; i < 64; ++i) ASSERT_EQ(counts[i], 999) << i;
}

TEST(RoundRobinTest, ScheduleBuildWorkIsBounded) {
  // Period 20 * 256 + 1 fits kMaxScheduleLength, but period x backends exceeds the budget.
  std::vector<BackendSpec> specs;
  for (int i = 0; i < 256; ++i) specs.push_back({"b" + std::to_string(i), i == 0 ? 21u : 20u});
  RoundRobinBalancer balancer(makePool(specs));
  EXPECT_FALSE(balancer.usesSchedule());
  // Weights with a common divisor replay a short schedule: 256 x 1000 / 1000.
  for (auto& spec : specs) spec.weight = 1000;
  RoundRobinBalancer reduced(makePool(specs));
  EXPECT_TRUE(reduced.usesSchedule());
}

TEST(RoundRobinTest, IneligibleBackendsAreNeverPicked) {
  auto pool = makePool({{"a", 5, false}, {"b", 1}, {"c", 2}, {"d", 9, false}});
  RoundRobinBalancer balancer(pool);
  // Over b and c only: b gets one pick in three.
  EXPECT_EQ(pickSequence(balancer, *pool, 6), "cbccbc");
}

TEST(RoundRobinTest, EligibleListIsTheSourceOfTruthWhenFlagsDisagree) {
  auto pool = makePool({{"a"}, {"b"}, {"c"}});
  pool->backends[1].eligible = false;  // listed in `eligible` but flagged ineligible
  pool->eligible.push_back(7);         // out of range
  pool->eligible.push_back(2);         // duplicate
  RoundRobinBalancer balancer(pool);
  EXPECT_EQ(pickSequence(balancer, *pool, 4), "acac");
}

TEST(RoundRobinTest, ExclusionsAreSkipped) {
  auto pool = makePool({{"a", 5}, {"b", 1}, {"c", 1}});
  for (size_t max_schedule : {RoundRobinBalancer::kMaxScheduleLength, size_t{0}}) {
    RoundRobinBalancer balancer(pool, max_schedule);
    std::vector<int> counts(3);
    for (int i = 0; i < 1000; ++i) ++counts[static_cast<size_t>(balancer.pick(withExclude({0})))];
    EXPECT_EQ(counts[0], 0);
    EXPECT_EQ(counts[1], 500);
    EXPECT_EQ(counts[2], 500);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick(withExclude({0, 2})), 1);
  }
}

TEST(RoundRobinTest, ExcludedBackendIsUsedWhenEverythingIsExcluded) {
  auto pool = makePool({{"a", 2}, {"b", 1}, {"x", 1, false}});
  for (size_t max_schedule : {RoundRobinBalancer::kMaxScheduleLength, size_t{0}}) {
    RoundRobinBalancer balancer(pool, max_schedule);
    std::vector<int> counts(3);
    // Excluding the ineligible x and a bogus index on top changes nothing.
    for (int i = 0; i < 300; ++i) {
      ++counts[static_cast<size_t>(balancer.pick(withExclude({1, 0, 2, 99, 1})))];
    }
    EXPECT_EQ(counts, (std::vector<int>{200, 100, 0}));
  }
}

TEST(RoundRobinTest, PicksWithoutExclusionsResumeTheSequence) {
  auto pool = makePool({{"a"}, {"b"}, {"c"}});
  RoundRobinBalancer balancer(pool);
  EXPECT_EQ(balancer.pick({}), 0);
  EXPECT_EQ(balancer.pick(withExclude({1})), 2);  // b's turn skipped
  EXPECT_EQ(balancer.pick({}), 0);
  EXPECT_EQ(balancer.pick({}), 1);
}

TEST(BalancerTest, EmptyPoolReturnsMinusOne) {
  auto empty = makePool({});
  auto none_eligible = makePool({{"a", 1, false}, {"b", 3, false}});
  FakeLoad load({0, 0});
  for (const auto& pool : {empty, none_eligible}) {
    for (BalancerKind kind :
         {BalancerKind::kRoundRobin, BalancerKind::kLeastRequest, BalancerKind::kHash}) {
      pool->settings.balancer = kind;
      auto balancer = makeBalancer(pool, &load, 1);
      EXPECT_EQ(balancer->pick({}), -1);
      EXPECT_EQ(balancer->pick(withExclude({0, 1})), -1);
      EXPECT_EQ(balancer->pick(withHash(12345)), -1);
    }
  }
  EXPECT_EQ(HashRing::build(*empty)->lookup(1), -1);
  EXPECT_EQ(HashRing::build(*none_eligible)->pointCount(), 0u);
}

TEST(BalancerTest, SingleBackendIsAlwaysPicked) {
  auto pool = makePool({{"a", 1, false}, {"b", 7}});
  FakeLoad load({0, 50});
  for (BalancerKind kind :
       {BalancerKind::kRoundRobin, BalancerKind::kLeastRequest, BalancerKind::kHash}) {
    pool->settings.balancer = kind;
    auto balancer = makeBalancer(pool, &load, 1);
    for (uint64_t i = 0; i < 50; ++i) {
      ASSERT_EQ(balancer->pick({}), 1);
      ASSERT_EQ(balancer->pick(withHash(core::mix64(i))), 1);
      ASSERT_EQ(balancer->pick(withExclude({1})), 1);  // the fallback rule
    }
  }
}

TEST(MakeBalancerTest, ChoosesTheConfiguredAlgorithm) {
  FakeLoad load({0, 0, 0});
  auto pool = makeEqualPool(3, BalancerKind::kRoundRobin);
  EXPECT_NE(dynamic_cast<RoundRobinBalancer*>(makeBalancer(pool, &load, 1).get()), nullptr);
  pool->settings.balancer = BalancerKind::kLeastRequest;
  EXPECT_NE(dynamic_cast<LeastRequestBalancer*>(makeBalancer(pool, &load, 1).get()), nullptr);
  pool->settings.balancer = BalancerKind::kHash;
  EXPECT_NE(dynamic_cast<HashBalancer*>(makeBalancer(pool, &load, 1).get()), nullptr);
}

TEST(MakeBalancerTest, LeastRequestWithoutLoadSourceStillPicksByWeight) {
  auto pool = makePool({{"a", 1}, {"b", 4}}, BalancerKind::kLeastRequest);
  auto balancer = makeBalancer(pool, nullptr, 3);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer->pick({}), 1);
}

}  // namespace
}  // namespace sy::upstream
