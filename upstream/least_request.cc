// Least request by the power of two choices, weighted.

#include "upstream/balancers.h"

namespace sy::upstream {

LeastRequestBalancer::LeastRequestBalancer(std::shared_ptr<const PoolSnapshot> pool,
                                           const LoadSource* load, uint64_t seed)
    : pool_(std::move(pool)), load_(load), candidates_(*pool_), random_(seed) {}

int LeastRequestBalancer::pick(const PickContext& ctx) {
  const auto n = static_cast<uint32_t>(candidates_.size());
  if (n == 0) {
    return -1;
  }
  uint32_t excluded = ctx.exclude.empty() ? 0 : candidates_.markExcluded(ctx.exclude);
  if (excluded == n) {
    excluded = 0;  // every candidate was tried: a retry on one of them beats failing
  }
  const absl::Span<const uint32_t> backends = candidates_.backends();
  uint32_t a;
  uint32_t b;
  if (excluded == 0) {
    if (n == 1) {
      return static_cast<int>(backends[0]);
    }
    // Two distinct positions, uniformly: draw the second among the n - 1 others.
    const uint32_t i = random_.below(n);
    uint32_t j = random_.below(n - 1);
    j += j >= i ? 1 : 0;
    a = backends[i];
    b = backends[j];
  } else {
    const uint32_t available = n - excluded;
    a = candidates_.randomPick(random_, available,
                               [this](uint32_t x) { return !candidates_.isExcluded(x); });
    if (available == 1) {
      return static_cast<int>(a);
    }
    b = candidates_.randomPick(random_, available - 1, [this, a](uint32_t x) {
      return x != a && !candidates_.isExcluded(x);
    });
  }
  // (active_a + 1) / weight_a against (active_b + 1) / weight_b without a division. The + 1
  // makes the weight count between idle backends too.
  const uint64_t cost_a = (uint64_t{activeRequests(a)} + 1) * candidates_.weight(b);
  const uint64_t cost_b = (uint64_t{activeRequests(b)} + 1) * candidates_.weight(a);
  return static_cast<int>(cost_b < cost_a ? b : a);
}

}  // namespace sy::upstream
