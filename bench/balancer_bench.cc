// Per-request cost of the balancers (pick) and of building a hash ring (per snapshot).

#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/stable_hash.h"
#include "upstream/balancer.h"
#include "upstream/balancers.h"

namespace sy::upstream {
namespace {

// `count` backends with weights 1..5.
std::shared_ptr<PoolSnapshot> makePool(int count, BalancerKind kind) {
  auto pool = std::make_shared<PoolSnapshot>();
  pool->settings.balancer = kind;
  for (int i = 0; i < count; ++i) {
    auto info = std::make_shared<BackendInfo>();
    info->address_text =
        "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":8080";
    info->weight = static_cast<uint32_t>(i % 5 + 1);
    pool->eligible.push_back(static_cast<uint32_t>(i));
    pool->backends.push_back({std::move(info), true});
  }
  if (kind == BalancerKind::kHash) {
    pool->ring = HashRing::build(*pool);
  }
  return pool;
}

class RandomLoad final : public LoadSource {
 public:
  explicit RandomLoad(int count) {
    FastRandom random(5);
    for (int i = 0; i < count; ++i) active_.push_back(random.below(10));
  }
  uint32_t activeRequests(uint32_t backend_index) const override { return active_[backend_index]; }

 private:
  std::vector<uint32_t> active_;
};

constexpr size_t kKeyCount = 4096;  // power of two: the index wraps with a mask

std::vector<uint64_t> keyHashes() {
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < kKeyCount; ++i)
    keys.push_back(core::stableHash("user-" + std::to_string(i)));
  return keys;
}

void runPicks(benchmark::State& state, Balancer& balancer, const PickContext& ctx) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(balancer.pick(ctx));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RoundRobinPick(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kRoundRobin);
  auto balancer = makeBalancer(pool, nullptr, 1);
  runPicks(state, *balancer, {});
}
BENCHMARK(BM_RoundRobinPick)->Arg(2)->Arg(16)->Arg(256);

// The same pools with nginx's per-pick loop (what pools with a very long period get).
void BM_RoundRobinPickStepMode(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kRoundRobin);
  RoundRobinBalancer balancer(pool, /*max_schedule_length=*/0);
  runPicks(state, balancer, {});
}
BENCHMARK(BM_RoundRobinPickStepMode)->Arg(2)->Arg(16)->Arg(256);

void BM_LeastRequestPick(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  auto pool = makePool(count, BalancerKind::kLeastRequest);
  RandomLoad load(count);
  auto balancer = makeBalancer(pool, &load, 1);
  runPicks(state, *balancer, {});
}
BENCHMARK(BM_LeastRequestPick)->Arg(2)->Arg(16)->Arg(256);

void BM_HashPick(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kHash);
  auto balancer = makeBalancer(pool, nullptr, 1);
  const std::vector<uint64_t> keys = keyHashes();
  size_t i = 0;
  PickContext ctx;
  for (auto _ : state) {
    ctx.hash = keys[i++ & (kKeyCount - 1)];
    benchmark::DoNotOptimize(balancer->pick(ctx));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashPick)->Arg(2)->Arg(16)->Arg(256);

void BM_HashPickNoKey(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kHash);
  auto balancer = makeBalancer(pool, nullptr, 1);
  runPicks(state, *balancer, {});
}
BENCHMARK(BM_HashPickNoKey)->Arg(256);

// A retry: one backend already tried.
void BM_PickWithOneExclusion(benchmark::State& state) {
  const auto kind = static_cast<BalancerKind>(state.range(0));
  auto pool = makePool(256, kind);
  RandomLoad load(256);
  auto balancer = makeBalancer(pool, &load, 1);
  const std::vector<uint32_t> tried = {255};  // weight 1
  PickContext ctx;
  ctx.exclude = tried;
  const std::vector<uint64_t> keys = keyHashes();
  size_t i = 0;
  for (auto _ : state) {
    if (kind == BalancerKind::kHash) {
      ctx.hash = keys[i++ & (kKeyCount - 1)];
    }
    benchmark::DoNotOptimize(balancer->pick(ctx));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PickWithOneExclusion)
    ->ArgName("kind")
    ->Arg(static_cast<int>(BalancerKind::kRoundRobin))
    ->Arg(static_cast<int>(BalancerKind::kLeastRequest))
    ->Arg(static_cast<int>(BalancerKind::kHash));

void BM_RingLookup(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kHash);
  const std::vector<uint64_t> keys = keyHashes();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pool->ring->lookup(keys[i++ & (kKeyCount - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["points"] = static_cast<double>(pool->ring->pointCount());
}
BENCHMARK(BM_RingLookup)->Arg(2)->Arg(16)->Arg(256);

void BM_RingBuild(benchmark::State& state) {
  auto pool = makePool(static_cast<int>(state.range(0)), BalancerKind::kRoundRobin);
  size_t points = 0;
  for (auto _ : state) {
    auto ring = HashRing::build(*pool);
    points = ring->pointCount();
    benchmark::DoNotOptimize(ring);
  }
  state.counters["points"] = static_cast<double>(points);
}
BENCHMARK(BM_RingBuild)->Arg(16)->Arg(256)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sy::upstream
