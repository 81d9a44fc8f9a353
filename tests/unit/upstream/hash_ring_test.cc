// Consistent hashing: HashRing and the hash balancer.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/stable_hash.h"
#include "gtest/gtest.h"
#include "tests/unit/upstream/test_pool.h"
#include "upstream/balancers.h"

namespace sy::upstream {
namespace {

using testing::BackendSpec;
using testing::makeEqualPool;
using testing::makePool;
using testing::withExclude;
using testing::withHash;

constexpr int kKeys = 30000;

uint64_t keyHash(int i) { return core::stableHash("user-" + std::to_string(i)); }

// The address owning each of kKeys keys.
std::vector<std::string> owners(const PoolSnapshot& pool, const HashRing& ring) {
  std::vector<std::string> result;
  result.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    const int index = ring.lookup(keyHash(i));
    result.push_back(index < 0 ? "" : pool.backends[static_cast<size_t>(index)].info->address_text);
  }
  return result;
}

int countOf(const std::vector<std::string>& owners_list, const std::string& address) {
  int count = 0;
  for (const std::string& owner : owners_list) count += owner == address ? 1 : 0;
  return count;
}

const std::vector<BackendSpec> kThree = {{"10.0.0.1:8080"}, {"10.0.0.2:8080"}, {"10.0.0.3:8080"}};

TEST(HashRingTest, PointsPerUnitOfWeight) {
  auto pool = makePool({{"a", 1}, {"b", 2}, {"c", 1}, {"d", 5, false}});
  EXPECT_EQ(HashRing::build(*pool)->pointCount(), 4u * kRingPointsPerWeight);
}

// Against a ring built here straight from the definition (160 x weight points per backend,
// point hash = stableHash(address, point number)), probing at, just before and just after every
// point, and past both ends.
TEST(HashRingTest, LookupMatchesReferenceRing) {
  auto pool = makePool({{"10.0.0.1:8080", 1}, {"10.0.0.2:8080", 3}, {"10.0.0.3:8080", 2}});
  std::vector<std::pair<uint64_t, int>> reference;
  for (int b = 0; b < 3; ++b) {
    const BackendInfo& info = *pool->backends[static_cast<size_t>(b)].info;
    for (uint64_t point = 0; point < kRingPointsPerWeight * info.weight; ++point) {
      reference.push_back({core::stableHash(info.address_text, point), b});
    }
  }
  std::sort(reference.begin(), reference.end());
  auto expected = [&](uint64_t hash) {
    auto it = std::lower_bound(reference.begin(), reference.end(), std::make_pair(hash, -1));
    return it == reference.end() ? reference.front().second : it->second;
  };
  const auto ring = HashRing::build(*pool);
  ASSERT_EQ(ring->pointCount(), reference.size());
  std::vector<uint64_t> probes = {0, 1, ~uint64_t{0}, ~uint64_t{0} - 1};
  for (const auto& [hash, backend] : reference) {
    probes.insert(probes.end(), {hash - 1, hash, hash + 1});
  }
  for (uint64_t probe : probes) ASSERT_EQ(ring->lookup(probe), expected(probe)) << probe;
}

TEST(HashRingTest, IndependentlyBuiltRingsAgree) {
  auto first = makePool(kThree);
  auto second = makePool(kThree);
  // Backend order does not matter either: points depend on addresses only.
  auto reversed = makePool({kThree[2], kThree[1], kThree[0]});
  const auto expected = owners(*first, *HashRing::build(*first));
  EXPECT_EQ(owners(*second, *HashRing::build(*second)), expected);
  EXPECT_EQ(owners(*reversed, *HashRing::build(*reversed)), expected);
}

// Guards the point and key hashing: if these change, every sticky user moves on upgrade.
TEST(HashRingTest, MappingIsStableAcrossReleases) {
  auto pool = makePool(kThree);
  const auto list = owners(*pool, *HashRing::build(*pool));
  EXPECT_EQ(list[0], "10.0.0.3:8080");
  EXPECT_EQ(list[1], "10.0.0.3:8080");
  EXPECT_EQ(list[2], "10.0.0.1:8080");
  EXPECT_EQ(list[3], "10.0.0.1:8080");
  // Every point takes part in these.
  EXPECT_EQ(countOf(list, "10.0.0.1:8080"), 9370);
  EXPECT_EQ(countOf(list, "10.0.0.2:8080"), 10829);
  EXPECT_EQ(countOf(list, "10.0.0.3:8080"), 9801);
}

TEST(HashRingTest, EqualBackendsShareTheKeys) {
  auto pool = makePool(kThree);
  const auto list = owners(*pool, *HashRing::build(*pool));
  for (const BackendSpec& spec : kThree) {
    const double share = countOf(list, spec.address) / static_cast<double>(kKeys);
    EXPECT_NEAR(share, 1 / 3.0, 0.05) << spec.address;  // ±5 percentage points
  }
}

TEST(HashRingTest, DoubleWeightGetsAboutTwiceTheKeys) {
  auto pool = makePool({{"10.0.0.1:8080", 2}, {"10.0.0.2:8080"}, {"10.0.0.3:8080"}});
  const auto list = owners(*pool, *HashRing::build(*pool));
  const double heavy = countOf(list, "10.0.0.1:8080");
  const double light = (countOf(list, "10.0.0.2:8080") + countOf(list, "10.0.0.3:8080")) / 2.0;
  EXPECT_NEAR(heavy / light, 2.0, 0.3);
}

TEST(HashRingTest, AddingABackendMovesKeysOnlyToIt) {
  auto before = makePool(kThree);
  auto after_specs = kThree;
  after_specs.push_back({"10.0.0.4:8080"});
  auto after = makePool(after_specs);
  const auto old_owners = owners(*before, *HashRing::build(*before));
  const auto new_owners = owners(*after, *HashRing::build(*after));
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (old_owners[static_cast<size_t>(i)] != new_owners[static_cast<size_t>(i)]) {
      ++moved;
      ASSERT_EQ(new_owners[static_cast<size_t>(i)], "10.0.0.4:8080") << "key " << i;
    }
  }
  EXPECT_NEAR(moved / static_cast<double>(kKeys), 0.25, 0.05);
}

TEST(HashRingTest, RemovingABackendMovesOnlyItsKeys) {
  auto full = makePool(kThree);
  auto without = makePool({kThree[0], kThree[2]});
  auto drained = makePool({kThree[0], {kThree[1].address, 1, false}, kThree[2]});
  const auto old_owners = owners(*full, *HashRing::build(*full));
  for (const auto& pool : {without, drained}) {
    const auto new_owners = owners(*pool, *HashRing::build(*pool));
    int moved = 0;
    for (size_t i = 0; i < old_owners.size(); ++i) {
      if (old_owners[i] != new_owners[i]) {
        ++moved;
        ASSERT_EQ(old_owners[i], "10.0.0.2:8080") << "key " << i;
      }
    }
    EXPECT_EQ(moved, countOf(old_owners, "10.0.0.2:8080"));
  }
}

TEST(HashRingTest, ExclusionGoesWhereTheKeyWouldGoWithoutTheBackend) {
  auto pool = makeEqualPool(5);
  auto without_two = makePool({{pool->backends[0].info->address_text},
                               {pool->backends[1].info->address_text},
                               {pool->backends[3].info->address_text},
                               {pool->backends[4].info->address_text}});
  const auto ring = HashRing::build(*pool);
  const auto smaller = HashRing::build(*without_two);
  const std::vector<uint32_t> exclude = {2};
  for (int i = 0; i < 5000; ++i) {
    const int index = ring->lookup(keyHash(i), exclude);
    ASSERT_NE(index, 2);
    const int expected = smaller->lookup(keyHash(i));
    ASSERT_EQ(pool->backends[static_cast<size_t>(index)].info->address_text,
              without_two->backends[static_cast<size_t>(expected)].info->address_text);
  }
}

TEST(HashRingTest, ExcludingEverythingReturnsTheOwner) {
  auto pool = makeEqualPool(3);
  const auto ring = HashRing::build(*pool);
  const std::vector<uint32_t> all = {0, 1, 2};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(ring->lookup(keyHash(i), all), ring->lookup(keyHash(i)));
}

TEST(HashRingTest, HugeWeightsAreCappedAndStayProportional) {
  // (500 + 7 x 1000) x 160 points would be 1.2 M.
  std::vector<BackendSpec> specs;
  for (int i = 0; i < 8; ++i) specs.push_back({"10.1.0." + std::to_string(i) + ":80", 1000});
  specs[0].weight = 500;
  auto pool = makePool(specs);
  const auto ring = HashRing::build(*pool);
  EXPECT_LE(ring->pointCount(), kMaxRingPoints);
  EXPECT_GT(ring->pointCount(), kMaxRingPoints - 8);
  const auto list = owners(*pool, *ring);
  const double half = countOf(list, specs[0].address);
  const double full = countOf(list, specs[1].address);
  EXPECT_NEAR(half / full, 0.5, 0.1);
}

TEST(HashBalancerTest, SameKeySameBackendAndMatchesTheRing) {
  auto pool = makeEqualPool(8, BalancerKind::kHash);
  const auto ring = HashRing::build(*pool);
  HashBalancer balancer(pool, 1);  // pool->ring is null: builds its own
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(balancer.pick(withHash(keyHash(i))), ring->lookup(keyHash(i)));
    ASSERT_EQ(balancer.pick(withHash(keyHash(i))), ring->lookup(keyHash(i)));
  }
}

TEST(HashBalancerTest, UsesTheSnapshotRing) {
  auto pool = makeEqualPool(3, BalancerKind::kHash);
  // A ring over backend 2 only proves the balancer does not build its own.
  auto only_third = makeEqualPool(3);
  only_third->eligible = {2};
  pool->ring = HashRing::build(*only_third);
  auto balancer = makeBalancer(pool, nullptr, 1);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(balancer->pick(withHash(keyHash(i))), 2);
}

TEST(HashBalancerTest, ExclusionPicksAnotherBackend) {
  auto pool = makeEqualPool(4, BalancerKind::kHash);
  pool->ring = HashRing::build(*pool);
  auto balancer = makeBalancer(pool, nullptr, 1);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t hash = keyHash(i);
    const int owner = balancer->pick(withHash(hash));
    const std::vector<uint32_t> tried = {static_cast<uint32_t>(owner)};
    PickContext ctx;
    ctx.hash = hash;
    ctx.exclude = tried;
    const int retry = balancer->pick(ctx);
    ASSERT_GE(retry, 0);
    ASSERT_NE(retry, owner);
    ASSERT_EQ(retry, pool->ring->lookup(hash, tried));
    const std::vector<uint32_t> all = {0, 1, 2, 3};
    ctx.exclude = all;
    ASSERT_EQ(balancer->pick(ctx), owner);  // everything tried: back to the owner
  }
}

TEST(HashBalancerTest, MissingKeyPicksAtRandomAmongEligible) {
  auto pool = makePool({{"a"}, {"b", 1, false}, {"c"}, {"d"}}, BalancerKind::kHash);
  auto balancer = makeBalancer(pool, nullptr, 23);
  std::vector<int> counts(4);
  for (int i = 0; i < 6000; ++i) {
    const int index = balancer->pick({});
    ASSERT_GE(index, 0);
    ASSERT_LT(index, 4);
    ++counts[static_cast<size_t>(index)];
  }
  EXPECT_EQ(counts[1], 0);
  for (size_t i : {0u, 2u, 3u}) EXPECT_NEAR(counts[i] / 6000.0, 1 / 3.0, 0.03) << i;
  for (int i = 0; i < 1000; ++i) {
    const int index = balancer->pick(withExclude({0, 3}));
    ASSERT_EQ(index, 2);
  }
}

}  // namespace
}  // namespace sy::upstream
