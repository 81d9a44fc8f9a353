#include "upstream/worker_pools.h"

#include <utility>

#include "absl/container/flat_hash_set.h"

namespace sy::upstream {

WorkerPool::WorkerPool(std::shared_ptr<const PoolSnapshot> pool,
                       std::vector<WorkerBackend*> backends, uint64_t seed)
    : pool_(std::move(pool)), backends_(std::move(backends)) {
  balancer_ = makeBalancer(pool_, this, seed);
}

WorkerPools::WorkerPools(uv_loop_t* loop, core::TimeoutQueue& timeouts, uint32_t worker,
                         std::function<uint64_t()> seed)
    : loop_(loop), timeouts_(timeouts), worker_(worker), seed_(std::move(seed)) {}

WorkerPool* WorkerPools::byId(uint64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}

WorkerBackend* WorkerPools::backendFor(const std::shared_ptr<const BackendInfo>& info,
                                       const PoolSettings& settings) {
  auto it = backends_.find(info->id);
  if (it != backends_.end()) {
    it->second->update(info, settings);
    return it->second.get();
  }
  auto backend = std::make_unique<WorkerBackend>(loop_, timeouts_, info, settings, worker_);
  WorkerBackend* raw = backend.get();
  backends_.emplace(info->id, std::move(backend));
  return raw;
}

void WorkerPools::rebuild(const PoolList& pools) {
  absl::flat_hash_map<uint64_t, std::unique_ptr<WorkerPool>> next;
  by_index_.clear();
  for (const auto& pool : pools) {
    std::unique_ptr<WorkerPool> worker_pool;
    auto it = by_id_.find(pool->id);
    if (it != by_id_.end() && it->second->snapshotPtr() == pool) {
      worker_pool = std::move(it->second);  // unchanged: keep the balancer's position
    } else {
      std::vector<WorkerBackend*> backends;
      backends.reserve(pool->backends.size());
      for (const auto& entry : pool->backends) {
        backends.push_back(backendFor(entry.info, pool->settings));
        backends.back()->setPoolStats(pool->stats);
        backends.back()->setDraining(entry.draining);
      }
      worker_pool = std::make_unique<WorkerPool>(pool, std::move(backends), seed_());
    }
    by_index_.push_back(worker_pool.get());
    next[pool->id] = std::move(worker_pool);
  }
  by_id_ = std::move(next);
  retireBackendsNotIn(pools);
}

void WorkerPools::retireBackendsNotIn(const PoolList& pools) {
  absl::flat_hash_set<uint64_t> live;
  for (const auto& pool : pools) {
    for (const auto& entry : pool->backends) live.insert(entry.info->id);
  }
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (live.contains(it->first)) {
      ++it;
      continue;
    }
    WorkerBackend* raw = it->second.get();
    retired_.push_back(std::move(it->second));
    backends_.erase(it++);
    // Called once the backend has no request and no connection left.
    raw->retire([this](WorkerBackend* unused) {
      for (auto r = retired_.begin(); r != retired_.end(); ++r) {
        if (r->get() == unused) {
          retired_.erase(r);
          return;
        }
      }
    });
  }
}

void WorkerPools::closeIdleConnections(const std::vector<uint64_t>& pool_ids) {
  for (uint64_t id : pool_ids) {
    WorkerPool* pool = byId(id);
    if (pool == nullptr) continue;
    for (size_t i = 0; i < pool->snapshot().backends.size(); ++i) {
      pool->backend(static_cast<uint32_t>(i))->closeIdleConnections();
    }
  }
}

void WorkerPools::closeAllIdleConnections() {
  for (auto& [id, backend] : backends_) backend->closeIdleConnections();
  for (auto& backend : retired_) backend->closeIdleConnections();
}

void WorkerPools::clear() {
  by_index_.clear();
  by_id_.clear();
  backends_.clear();
  retired_.clear();
}

}  // namespace sy::upstream
