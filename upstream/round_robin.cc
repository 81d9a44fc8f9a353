// Smooth weighted round robin, as nginx's ngx_http_upstream_get_peer.

#include <algorithm>
#include <numeric>

#include "upstream/balancers.h"

namespace sy::upstream {

RoundRobinBalancer::RoundRobinBalancer(std::shared_ptr<const PoolSnapshot> pool,
                                       size_t max_schedule_length, uint64_t start)
    : pool_(std::move(pool)), candidates_(*pool_) {
  const size_t n = candidates_.size();
  uint32_t divisor = 0;
  for (uint32_t backend : candidates_.backends()) {
    divisor = std::gcd(divisor, candidates_.weight(backend));
  }
  // Dividing every weight by their gcd yields the same sequence with a shorter period.
  size_t period = 0;
  weights_.reserve(n);
  for (uint32_t backend : candidates_.backends()) {
    weights_.push_back(candidates_.weight(backend) / divisor);
    period += candidates_.weight(backend) / divisor;
  }
  current_.assign(n, 0);
  if (n == 0 || period > max_schedule_length || period * n > kMaxScheduleBuildSteps) {
    return;
  }
  schedule_.reserve(period);
  for (size_t i = 0; i < period; ++i) {
    schedule_.push_back(step(false));
  }
  // Each backend is chosen exactly weight times per period, which brings every current_weight
  // back to zero; should that ever fail, keep stepping instead of replaying a wrong order.
  if (std::any_of(current_.begin(), current_.end(), [](int64_t c) { return c != 0; })) {
    schedule_.clear();
    schedule_.shrink_to_fit();
    std::fill(current_.begin(), current_.end(), 0);
    return;
  }
  cursor_ = static_cast<size_t>(start % schedule_.size());
}

uint32_t RoundRobinBalancer::step(bool with_exclusions) {
  const absl::Span<const uint32_t> backends = candidates_.backends();
  int64_t total = 0;
  size_t best = backends.size();
  for (size_t i = 0; i < backends.size(); ++i) {
    // Like nginx's tried peers, excluded backends neither gain weight nor count in the total.
    if (with_exclusions && candidates_.isExcluded(backends[i])) {
      continue;
    }
    current_[i] += weights_[i];
    total += weights_[i];
    if (best == backends.size() || current_[i] > current_[best]) {
      best = i;
    }
  }
  current_[best] -= total;
  return backends[best];
}

int RoundRobinBalancer::pickScheduled(bool with_exclusions) {
  size_t position = cursor_;
  if (with_exclusions) {
    // Skip the turns of excluded backends. Every candidate occurs in each period and at least
    // one is not excluded, so this ends within one period.
    while (candidates_.isExcluded(schedule_[position])) {
      position = position + 1 == schedule_.size() ? 0 : position + 1;
    }
  }
  cursor_ = position + 1 == schedule_.size() ? 0 : position + 1;
  return static_cast<int>(schedule_[position]);
}

int RoundRobinBalancer::pick(const PickContext& ctx) {
  if (candidates_.empty()) {
    return -1;
  }
  const uint32_t excluded = ctx.exclude.empty() ? 0 : candidates_.markExcluded(ctx.exclude);
  // With every candidate excluded, a retry on one of them beats failing: pick as usual.
  const bool with_exclusions = excluded != 0 && excluded < candidates_.size();
  if (!schedule_.empty()) {
    return pickScheduled(with_exclusions);
  }
  return static_cast<int>(step(with_exclusions));
}

}  // namespace sy::upstream
