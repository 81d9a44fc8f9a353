// makeBalancer() and what the three balancers share.

#include <algorithm>
#include <memory>

#include "upstream/balancer.h"
#include "upstream/balancers.h"

namespace sy::upstream {

std::vector<uint32_t> eligibleBackends(const PoolSnapshot& pool) {
  std::vector<uint32_t> result;
  result.reserve(pool.eligible.size());
  std::vector<bool> seen(pool.backends.size());
  for (uint32_t index : pool.eligible) {
    // A snapshot that lists a backend twice, out of range or not flagged eligible would
    // otherwise skew the weights or hand out an index the caller must not use.
    if (index >= pool.backends.size() || seen[index] || !pool.backends[index].eligible ||
        pool.backends[index].info == nullptr) {
      continue;
    }
    seen[index] = true;
    result.push_back(index);
  }
  return result;
}

Candidates::Candidates(const PoolSnapshot& pool)
    : backends_(eligibleBackends(pool)),
      weights_(pool.backends.size()),
      is_candidate_(pool.backends.size()),
      marks_(pool.backends.size()) {
  for (uint32_t index : backends_) {
    weights_[index] = effectiveWeight(*pool.backends[index].info);
    is_candidate_[index] = 1;
  }
}

uint32_t Candidates::markExcluded(absl::Span<const uint32_t> exclude) {
  if (++epoch_ == 0) {  // wrapped: old marks could alias the new epoch
    std::fill(marks_.begin(), marks_.end(), 0);
    epoch_ = 1;
  }
  uint32_t count = 0;
  for (uint32_t index : exclude) {
    if (index < marks_.size() && is_candidate_[index] != 0 && marks_[index] != epoch_) {
      marks_[index] = epoch_;
      ++count;
    }
  }
  return count;
}

std::unique_ptr<Balancer> makeBalancer(std::shared_ptr<const PoolSnapshot> pool,
                                       const LoadSource* load, uint64_t seed) {
  switch (pool->settings.balancer) {
    case BalancerKind::kRoundRobin:
      break;
    case BalancerKind::kLeastRequest:
      return std::make_unique<LeastRequestBalancer>(std::move(pool), load, seed);
    case BalancerKind::kHash:
      return std::make_unique<HashBalancer>(std::move(pool), seed);
  }
  return std::make_unique<RoundRobinBalancer>(std::move(pool),
                                              RoundRobinBalancer::kMaxScheduleLength, seed);
}

}  // namespace sy::upstream
