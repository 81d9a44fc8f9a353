// Consistent hashing: the ketama-style ring and the balancer on top of it.

#include <algorithm>

#include "upstream/balancers.h"

namespace sy::upstream {

namespace {

bool contains(absl::Span<const uint32_t> list, uint32_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::shared_ptr<const HashRing> HashRing::build(const PoolSnapshot& pool) {
  auto ring = std::make_shared<HashRing>();
  const std::vector<uint32_t> backends = eligibleBackends(pool);
  uint64_t wanted = 0;
  for (uint32_t index : backends) {
    wanted += uint64_t{kRingPointsPerWeight} * effectiveWeight(*pool.backends[index].info);
  }
  ring->points_.reserve(std::min<uint64_t>(wanted, kMaxRingPoints));
  for (uint32_t index : backends) {
    const BackendInfo& info = *pool.backends[index].info;
    uint64_t count = uint64_t{kRingPointsPerWeight} * effectiveWeight(info);
    if (wanted > kMaxRingPoints) {
      count = std::max<uint64_t>(1, count * kMaxRingPoints / wanted);
    }
    // A point depends only on the address and its number, never on the backend's position or
    // on the other backends: adding or removing a backend adds or removes only its own points.
    // Point numbers are a prefix, so a changed count (weight, cap) moves only the difference.
    for (uint64_t point = 0; point < count; ++point) {
      ring->points_.push_back({core::stableHash(info.address_text, point), index});
    }
  }
  std::sort(ring->points_.begin(), ring->points_.end(), [](const Point& x, const Point& y) {
    return x.hash != y.hash ? x.hash < y.hash : x.backend_index < y.backend_index;
  });
  return ring;
}

int HashRing::lookup(uint64_t hash, absl::Span<const uint32_t> exclude) const {
  if (points_.empty()) {
    return -1;
  }
  // The key belongs to the first point at or after it, clockwise. A branch-free lower bound:
  // the comparisons are unpredictable, and mispredictions cost std::lower_bound about half its
  // time on large rings.
  const Point* base = points_.data();
  size_t length = points_.size();
  while (length > 1) {
    const size_t half = length / 2;
    base = base[half].hash < hash ? base + half : base;
    length -= half;
  }
  size_t start = static_cast<size_t>(base - points_.data()) + (base->hash < hash ? 1 : 0);
  if (start == points_.size()) {
    start = 0;  // past the last point: wrap around
  }
  if (exclude.empty()) {
    return static_cast<int>(points_[start].backend_index);
  }
  // The next point of a backend not excluded: where the key would go with the excluded
  // backends removed from the ring.
  size_t position = start;
  do {
    if (!contains(exclude, points_[position].backend_index)) {
      return static_cast<int>(points_[position].backend_index);
    }
    position = position + 1 == points_.size() ? 0 : position + 1;
  } while (position != start);
  return static_cast<int>(points_[start].backend_index);  // all excluded: retry the owner
}

HashBalancer::HashBalancer(std::shared_ptr<const PoolSnapshot> pool, uint64_t seed)
    : pool_(std::move(pool)),
      ring_(pool_->ring != nullptr ? pool_->ring : HashRing::build(*pool_)),
      candidates_(*pool_),
      random_(seed) {}

int HashBalancer::pick(const PickContext& ctx) {
  const auto n = static_cast<uint32_t>(candidates_.size());
  if (n == 0) {
    return -1;
  }
  const uint32_t excluded = ctx.exclude.empty() ? 0 : candidates_.markExcluded(ctx.exclude);
  // With every candidate excluded, a retry on one of them beats failing: pick as usual.
  const bool with_exclusions = excluded != 0 && excluded < n;
  if (ctx.hash.has_value()) {
    return ring_->lookup(*ctx.hash, with_exclusions ? ctx.exclude : absl::Span<const uint32_t>());
  }
  if (!with_exclusions) {
    return static_cast<int>(candidates_.backends()[random_.below(n)]);
  }
  return static_cast<int>(candidates_.randomPick(
      random_, n - excluded, [this](uint32_t x) { return !candidates_.isExcluded(x); }));
}

}  // namespace sy::upstream
