// Least request: power of two choices, weighted.

#include <cmath>
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

std::vector<double> shares(const std::vector<int>& counts) {
  double total = 0;
  for (int c : counts) total += c;
  std::vector<double> result;
  for (int c : counts) result.push_back(c / total);
  return result;
}

TEST(LeastRequestTest, AlwaysPicksTheLessLoadedOfTwo) {
  auto pool = makeEqualPool(2);
  FakeLoad load({10, 0});
  LeastRequestBalancer balancer(pool, &load, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(balancer.pick({}), 1);
  load.active() = {0, 1};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(balancer.pick({}), 0);
}

TEST(LeastRequestTest, PrefersTheLessLoaded) {
  // Loads 0 < 1 < 2 < 3: a backend wins whenever it is drawn with a busier one, so over the six
  // equally likely pairs the shares are 3/6, 2/6, 1/6 and 0.
  auto pool = makeEqualPool(4);
  FakeLoad load({0, 1, 2, 3});
  LeastRequestBalancer balancer(pool, &load, 7);
  std::vector<int> counts(4);
  for (int i = 0; i < 60000; ++i) ++counts[static_cast<size_t>(balancer.pick({}))];
  EXPECT_EQ(counts[3], 0);
  const std::vector<double> expected = {3 / 6.0, 2 / 6.0, 1 / 6.0, 0};
  const std::vector<double> actual = shares(counts);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(actual[i], expected[i], 0.01) << i;
}

TEST(LeastRequestTest, ComparesLoadPerUnitOfWeight) {
  auto pool = makePool({{"a", 1}, {"b", 3}});
  FakeLoad load({3, 7});  // (3 + 1) / 1 = 4 > (7 + 1) / 3
  LeastRequestBalancer balancer(pool, &load, 1);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick({}), 1);
  load.active() = {1, 7};  // (1 + 1) / 1 = 2 < 8 / 3
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick({}), 0);
  load.active() = {0, 0};  // idle: 1 / 1 > 1 / 3, the heavier wins
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick({}), 1);
}

TEST(LeastRequestTest, TiesGoToEitherCandidate) {
  auto pool = makePool({{"a", 1}, {"b", 2}});
  FakeLoad load({1, 3});  // 2 / 1 == 4 / 2
  LeastRequestBalancer balancer(pool, &load, 5);
  std::vector<int> counts(2);
  for (int i = 0; i < 10000; ++i) ++counts[static_cast<size_t>(balancer.pick({}))];
  EXPECT_NEAR(shares(counts)[0], 0.5, 0.03);
}

TEST(LeastRequestTest, EqualBackendsShareUniformly) {
  auto pool = makeEqualPool(5);
  FakeLoad load({4, 4, 4, 4, 4});
  LeastRequestBalancer balancer(pool, &load, 11);
  std::vector<int> counts(5);
  for (int i = 0; i < 50000; ++i) ++counts[static_cast<size_t>(balancer.pick({}))];
  for (double share : shares(counts)) EXPECT_NEAR(share, 0.2, 0.01);
}

// Every pick adds an outstanding request that never completes (equal cost per request). The
// balancer keeps (active + 1) / weight level, so the picks follow the weights.
TEST(LeastRequestTest, FollowsWeightsUnderEqualLoad) {
  auto pool = makePool({{"a", 1}, {"b", 2}, {"c", 3}});
  FakeLoad load({0, 0, 0});
  LeastRequestBalancer balancer(pool, &load, 3);
  std::vector<int> counts(3);
  for (int i = 0; i < 60000; ++i) {
    const auto index = static_cast<size_t>(balancer.pick({}));
    ++counts[index];
    ++load.active()[index];
  }
  // Tolerance 0.1 percentage point (60 picks): the busiest backend per unit of weight never
  // wins a comparison, so the ratios stay within a narrow band and the shares converge.
  const std::vector<double> actual = shares(counts);
  EXPECT_NEAR(actual[0], 1 / 6.0, 0.001);
  EXPECT_NEAR(actual[1], 2 / 6.0, 0.001);
  EXPECT_NEAR(actual[2], 3 / 6.0, 0.001);
}

TEST(LeastRequestTest, NeverPicksIneligible) {
  auto pool = makePool({{"idle", 1000, false}, {"b"}, {"c"}, {"d", 1000, false}});
  FakeLoad load({0, 100, 100, 0});
  LeastRequestBalancer balancer(pool, &load, 9);
  std::vector<int> counts(4);
  for (int i = 0; i < 5000; ++i) ++counts[static_cast<size_t>(balancer.pick({}))];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], 0);
}

TEST(LeastRequestTest, ExclusionsAreSkipped) {
  auto pool = makeEqualPool(3);
  FakeLoad load({0, 5, 5});
  LeastRequestBalancer balancer(pool, &load, 13);
  std::vector<int> counts(3);
  for (int i = 0; i < 3000; ++i) ++counts[static_cast<size_t>(balancer.pick(withExclude({0})))];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(shares(counts)[1], 0.5, 0.05);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick(withExclude({0, 2})), 1);
}

TEST(LeastRequestTest, ExcludedBackendIsUsedWhenEverythingIsExcluded) {
  auto pool = makePool({{"a"}, {"b"}, {"x", 1, false}});
  FakeLoad load({0, 9, 0});
  LeastRequestBalancer balancer(pool, &load, 17);
  // Both eligible backends were tried: compare them again, as if nothing was excluded.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer.pick(withExclude({1, 0, 2})), 0);
}

TEST(LeastRequestTest, ManyExclusionsStayUniformOverTheRest) {
  // 250 of 256 excluded: the rejection draws mostly miss and the rank scan takes over.
  auto pool = makeEqualPool(256);
  FakeLoad load(std::vector<uint32_t>(256, 0));
  LeastRequestBalancer balancer(pool, &load, 19);
  std::vector<uint32_t> exclude;
  for (uint32_t i = 0; i < 256; ++i) {
    if (i % 43 != 0) exclude.push_back(i);  // keeps 0, 43, 86, 129, 172, 215
  }
  std::vector<int> counts(256);
  for (int i = 0; i < 12000; ++i)
    ++counts[static_cast<size_t>(balancer.pick(withExclude(exclude)))];
  for (size_t i = 0; i < 256; ++i) {
    if (i % 43 == 0) {
      EXPECT_NEAR(counts[i] / 12000.0, 1 / 6.0, 0.02) << i;
    } else {
      ASSERT_EQ(counts[i], 0) << i;
    }
  }
}

TEST(LeastRequestTest, SeedMakesPicksReproducible) {
  auto pool = makeEqualPool(16);
  FakeLoad load(std::vector<uint32_t>(16, 0));
  LeastRequestBalancer first(pool, &load, 99);
  LeastRequestBalancer second(pool, &load, 99);
  LeastRequestBalancer other(pool, &load, 100);
  int differences = 0;
  for (int i = 0; i < 200; ++i) {
    const int pick = first.pick({});
    ASSERT_EQ(pick, second.pick({}));
    differences += pick != other.pick({}) ? 1 : 0;
  }
  EXPECT_GT(differences, 100);
}

}  // namespace
}  // namespace sy::upstream
