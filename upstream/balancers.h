#pragma once

// The concrete balancers behind makeBalancer(). Private to upstream/ (and its tests and
// benchmarks): the rest of the proxy only sees the Balancer interface.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "core/stable_hash.h"
#include "upstream/balancer.h"
#include "upstream/pool.h"

namespace sy::upstream {

// The backend indices a balancer may choose from: pool.eligible, deduplicated, in range and
// flagged eligible, in pool.eligible order. HashRing::build uses the same set.
std::vector<uint32_t> eligibleBackends(const PoolSnapshot& pool);

// Ketama: points per unit of weight on the hash ring.
inline constexpr uint32_t kRingPointsPerWeight = 160;
// Cap on the points of one ring (16 bytes each, shared by all workers). Rings above it get
// proportionally fewer points per backend; see HashRing::build.
inline constexpr size_t kMaxRingPoints = size_t{1} << 20;

// Weight as used by every balancer: BackendInfo::weight, with 0 read as 1 (a zero total would
// otherwise break the round robin and make a backend unreachable by hashing).
inline uint32_t effectiveWeight(const BackendInfo& info) {
  return info.weight == 0 ? 1 : info.weight;
}

// splitmix64: a few cycles per draw and good enough statistics for picking backends. Each
// balancer owns one, so there is no shared state between workers.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return core::mix64(state_);
  }
  // Uniform in [0, n) for 1 <= n < 2^32 by multiply-shift; the bias (< n / 2^32) is irrelevant
  // here and it avoids a division.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }

 private:
  uint64_t state_;
};

// The candidates of one balancer plus an O(1) "is this backend excluded" test for the pick in
// progress. Exclusions are marked with a pick counter (epoch) instead of being cleared, so a
// pick with exclusions costs O(exclude.size()) on top of the algorithm and never allocates.
class Candidates {
 public:
  explicit Candidates(const PoolSnapshot& pool);

  // Backend indices of the eligible backends.
  absl::Span<const uint32_t> backends() const { return backends_; }
  size_t size() const { return backends_.size(); }
  bool empty() const { return backends_.empty(); }
  uint32_t weight(uint32_t backend_index) const { return weights_[backend_index]; }

  // Starts a pick that excludes `exclude`; returns how many distinct candidates it excludes.
  // Indices that are out of range or not candidates are ignored.
  uint32_t markExcluded(absl::Span<const uint32_t> exclude);
  // Valid only after markExcluded() in the same pick.
  bool isExcluded(uint32_t backend_index) const { return marks_[backend_index] == epoch_; }

  // A uniformly random candidate for which ok(backend_index) holds; `ok_count` (>= 1) is how
  // many there are. A few rejection draws cover the usual case (few exclusions) in O(1); the
  // rank scan bounds the rare case where most candidates are excluded.
  template <class Ok>
  uint32_t randomPick(FastRandom& random, uint32_t ok_count, Ok ok) const {
    const auto n = static_cast<uint32_t>(backends_.size());
    for (int attempt = 0; attempt < kRejectionAttempts; ++attempt) {
      const uint32_t backend = backends_[random.below(n)];
      if (ok(backend)) {
        return backend;
      }
    }
    uint32_t rank = random.below(ok_count);
    for (uint32_t backend : backends_) {
      if (ok(backend) && rank-- == 0) {
        return backend;
      }
    }
    return backends_[0];  // unreachable when ok_count is right
  }

 private:
  static constexpr int kRejectionAttempts = 8;

  std::vector<uint32_t> backends_;
  std::vector<uint32_t> weights_;      // by backend index
  std::vector<uint8_t> is_candidate_;  // by backend index
  std::vector<uint32_t> marks_;        // by backend index; == epoch_ when excluded
  uint32_t epoch_ = 0;
};

// Smooth weighted round robin (nginx, ngx_http_upstream_get_peer). The sequence repeats after
// sum(weights) / gcd(weights) picks, with every current_weight back at zero, so when that period
// is short the balancer runs the algorithm once at construction and then replays the recorded
// period: O(1) per pick with exactly nginx's order. Pools whose period is too long for that run
// the algorithm on every pick, O(eligible).
class RoundRobinBalancer : public Balancer {
 public:
  // Longest period recorded (4 bytes per entry and per worker).
  static constexpr size_t kMaxScheduleLength = 16384;
  // Bound on the construction work (period x backends), which runs on the worker's loop.
  static constexpr size_t kMaxScheduleBuildSteps = size_t{1} << 20;

  // `start` offsets the first pick within the cycle: each worker gets its own, so that after a
  // new snapshot the workers do not all send their first request to the same backend.
  explicit RoundRobinBalancer(std::shared_ptr<const PoolSnapshot> pool,
                              size_t max_schedule_length = kMaxScheduleLength, uint64_t start = 0);
  int pick(const PickContext& ctx) override;

  bool usesSchedule() const { return !schedule_.empty(); }

 private:
  // One step of nginx's algorithm over the candidates not excluded (all when !with_exclusions).
  uint32_t step(bool with_exclusions);
  int pickScheduled(bool with_exclusions);

  std::shared_ptr<const PoolSnapshot> pool_;
  Candidates candidates_;
  std::vector<int64_t> weights_;    // by candidate position, divided by their gcd
  std::vector<int64_t> current_;    // by candidate position
  std::vector<uint32_t> schedule_;  // one period of backend indices; empty = run step()
  size_t cursor_ = 0;
};

// Power of two choices: two distinct random candidates, the one with fewer outstanding requests
// per unit of weight wins. Compared as (active_a + 1) * weight_b < (active_b + 1) * weight_a.
class LeastRequestBalancer : public Balancer {
 public:
  // `load` null counts every backend as idle: then the heavier of the two candidates wins.
  LeastRequestBalancer(std::shared_ptr<const PoolSnapshot> pool, const LoadSource* load,
                       uint64_t seed);
  int pick(const PickContext& ctx) override;

 private:
  uint32_t activeRequests(uint32_t backend_index) const {
    return load_ == nullptr ? 0 : load_->activeRequests(backend_index);
  }

  std::shared_ptr<const PoolSnapshot> pool_;
  const LoadSource* load_;
  Candidates candidates_;
  FastRandom random_;
};

// Consistent hashing over pool.ring (built here when the snapshot has none). Requests without a
// key get a random candidate.
class HashBalancer : public Balancer {
 public:
  HashBalancer(std::shared_ptr<const PoolSnapshot> pool, uint64_t seed);
  int pick(const PickContext& ctx) override;

 private:
  std::shared_ptr<const PoolSnapshot> pool_;
  std::shared_ptr<const HashRing> ring_;
  Candidates candidates_;
  FastRandom random_;
};

}  // namespace sy::upstream
