#pragma once

// Builds PoolSnapshots for the balancer tests.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "upstream/balancer.h"
#include "upstream/pool.h"

namespace sy::upstream::testing {

struct BackendSpec {
  std::string address;
  uint32_t weight = 1;
  bool eligible = true;
};

inline std::shared_ptr<PoolSnapshot> makePool(const std::vector<BackendSpec>& specs,
                                              BalancerKind kind = BalancerKind::kRoundRobin) {
  auto pool = std::make_shared<PoolSnapshot>();
  pool->name = "test";
  pool->settings.balancer = kind;
  for (const BackendSpec& spec : specs) {
    auto info = std::make_shared<BackendInfo>();
    info->address_text = spec.address;
    info->weight = spec.weight;
    if (spec.eligible) {
      pool->eligible.push_back(static_cast<uint32_t>(pool->backends.size()));
    }
    pool->backends.push_back({std::move(info), spec.eligible});
  }
  return pool;
}

// `count` backends "10.0.0.<i>:8080" of weight 1.
inline std::shared_ptr<PoolSnapshot> makeEqualPool(int count,
                                                   BalancerKind kind = BalancerKind::kRoundRobin) {
  std::vector<BackendSpec> specs;
  for (int i = 0; i < count; ++i) {
    specs.push_back(
        {"10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":8080"});
  }
  return makePool(specs, kind);
}

// A LoadSource the test sets by hand.
class FakeLoad final : public LoadSource {
 public:
  explicit FakeLoad(std::vector<uint32_t> active) : active_(std::move(active)) {}
  uint32_t activeRequests(uint32_t backend_index) const override {
    return active_.at(backend_index);
  }
  std::vector<uint32_t>& active() { return active_; }

 private:
  std::vector<uint32_t> active_;
};

inline PickContext withExclude(const std::vector<uint32_t>& exclude) {
  PickContext ctx;
  ctx.exclude = exclude;
  return ctx;
}

inline PickContext withHash(uint64_t hash) {
  PickContext ctx;
  ctx.hash = hash;
  return ctx;
}

}  // namespace sy::upstream::testing
