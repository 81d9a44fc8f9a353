#pragma once

// The pools as one worker sees them, as Envoy's ClusterManager keeps a ClusterEntry per cluster
// on every thread: for each pool of the current snapshot, this worker's balancer and its
// per-backend state (keep-alive connections, in-flight requests). Rebuilt from the pool list of
// every snapshot the worker adopts; worker thread only, so nothing here takes a lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/timeout_queue.h"
#include "upstream/balancer.h"
#include "upstream/connection_pool.h"
#include "upstream/pool.h"

namespace sy::upstream {

// One pool as one worker sees it: the pool's immutable description, this worker's balancer for
// it, and this worker's per-backend state in the pool's backend order.
class WorkerPool final : public LoadSource {
 public:
  WorkerPool(std::shared_ptr<const PoolSnapshot> pool, std::vector<WorkerBackend*> backends,
             uint64_t seed);
  const PoolSnapshot& snapshot() const { return *pool_; }
  const std::shared_ptr<const PoolSnapshot>& snapshotPtr() const { return pool_; }
  Balancer& balancer() { return *balancer_; }
  WorkerBackend* backend(uint32_t index) const { return backends_[index]; }
  uint32_t activeRequests(uint32_t backend_index) const override {
    return backends_[backend_index]->activeRequests();
  }

 private:
  std::shared_ptr<const PoolSnapshot> pool_;
  std::vector<WorkerBackend*> backends_;
  std::unique_ptr<Balancer> balancer_;
};

using PoolList = std::vector<std::shared_ptr<const PoolSnapshot>>;

class WorkerPools {
 public:
  // `worker` selects this worker's slot in the shared per-backend stats; `seed` feeds the
  // balancers' random choices (reproducible in tests).
  WorkerPools(uv_loop_t* loop, core::TimeoutQueue& timeouts, uint32_t worker,
              std::function<uint64_t()> seed);
  WorkerPools(const WorkerPools&) = delete;
  WorkerPools& operator=(const WorkerPools&) = delete;

  // Adopts the pools of a new snapshot. A pool whose description is the same object as before
  // keeps its balancer (and so its round-robin position); a backend whose definition is
  // unchanged keeps its connections, whichever pool objects refer to it; a backend that left
  // every pool is retired: it finishes its requests, then it is freed.
  void rebuild(const PoolList& pools);

  // The current pools by snapshot index, and any current pool by its stable id (retries carry
  // the id, since the index may change between snapshots). byId: nullptr once the pool is gone.
  WorkerPool* at(uint32_t index) const { return by_index_[index]; }
  WorkerPool* byId(uint64_t id) const;
  size_t size() const { return by_index_.size(); }

  // Closes idle keep-alive connections: of these pools' backends (a switch left them without
  // traffic), or of every backend, retired ones included (drain, stop).
  void closeIdleConnections(const std::vector<uint64_t>& pool_ids);
  void closeAllIdleConnections();

  // Backends that left the configuration and still finish requests.
  size_t retiredBackends() const { return retired_.size(); }

  // Frees everything; only when no request can be running (the worker's loop has ended).
  void clear();

 private:
  WorkerBackend* backendFor(const std::shared_ptr<const BackendInfo>& info,
                            const PoolSettings& settings);
  void retireBackendsNotIn(const PoolList& pools);

  uv_loop_t* const loop_;
  core::TimeoutQueue& timeouts_;
  const uint32_t worker_;
  std::function<uint64_t()> seed_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<WorkerPool>> by_id_;  // current pools
  std::vector<WorkerPool*> by_index_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<WorkerBackend>> backends_;  // by backend id
  std::vector<std::unique_ptr<WorkerBackend>> retired_;
};

}  // namespace sy::upstream
