#pragma once

// Load balancing within one pool. A Balancer is per worker (its cursor and counters are never
// shared between threads) and is rebuilt when the worker adopts a snapshot whose PoolSnapshot
// changed. The request path calls pick() without any lock.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "upstream/pool.h"

namespace sy::upstream {

// How many requests this worker has outstanding on each backend of the pool (least-request).
class LoadSource {
 public:
  virtual uint32_t activeRequests(uint32_t backend_index) const = 0;

 protected:
  ~LoadSource() = default;
};

struct PickContext {
  // For the hash balancer: the request's key hashed with core::stableHash. Without a key (the
  // header or cookie is missing) the hash balancer falls back to a random pick.
  std::optional<uint64_t> hash;
  // Backend indices already tried by this request (retries go elsewhere when possible).
  absl::Span<const uint32_t> exclude;
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Returns an index into pool.backends of an eligible backend not in ctx.exclude; when every
  // eligible backend is excluded, an excluded one (a retry on the same backend beats failing);
  // -1 only when the pool has no eligible backend.
  virtual int pick(const PickContext& ctx) = 0;
};

// `load` may be null for balancers that do not need it; it must outlive the balancer.
// `seed` makes the random choices of a worker reproducible in tests.
std::unique_ptr<Balancer> makeBalancer(std::shared_ptr<const PoolSnapshot> pool,
                                       const LoadSource* load, uint64_t seed);

// Consistent hash ring (ketama-style: 160 points per unit of weight) over the eligible backends
// of a pool. Built once per PoolSnapshot on the control thread and shared read-only. Adding or
// removing a backend moves only the keys of that backend's share.
class HashRing {
 public:
  static std::shared_ptr<const HashRing> build(const PoolSnapshot& pool);
  // The backend index owning `hash`, skipping `exclude` when possible; -1 when empty.
  int lookup(uint64_t hash, absl::Span<const uint32_t> exclude = {}) const;
  size_t pointCount() const { return points_.size(); }

 private:
  struct Point {
    uint64_t hash;
    uint32_t backend_index;
  };
  std::vector<Point> points_;
};

}  // namespace sy::upstream
