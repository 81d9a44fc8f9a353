#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "core/timeout_queue.h"
#include "tls/client_session_slot.h"
#include "upstream/pool.h"
#include "upstream/upstream_connection.h"

namespace sy::upstream {

// One worker's view of one backend: its keep-alive connection pool and its live counts. Lives
// as long as the backend is in the configuration or still has connections or requests on this
// worker; never shared with another thread.
class WorkerBackend {
 public:
  // `worker` selects this worker's slot in the backend's shared stats.
  WorkerBackend(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                std::shared_ptr<const BackendInfo> info, const PoolSettings& settings,
                uint32_t worker);
  ~WorkerBackend();
  WorkerBackend(const WorkerBackend&) = delete;
  WorkerBackend& operator=(const WorkerBackend&) = delete;

  const BackendInfo& info() const { return *info_; }
  uint64_t id() const { return info_->id; }
  const PoolSettings& settings() const { return settings_; }
  uv_loop_t* loop() const { return loop_; }
  core::TimeoutQueue& timeouts() { return timeouts_; }

  // A connection for a new request: the most recently used idle one (the least likely to have
  // been closed by the backend meanwhile), or a new one that is connecting. Returns nullptr
  // when a new connection cannot even be started (*uv_error says why).
  UpstreamConnection* acquire(int* uv_error);

  // Request accounting for least-request balancing and for the lifetime of this object.
  void requestStarted() {
    ++active_requests_;
    stats_->active_requests.add();
    stats_->requests.add();
  }
  void requestFinished();
  uint32_t activeRequests() const { return active_requests_; }
  uint32_t openConnections() const { return open_connections_; }
  uint32_t idleConnections() const { return static_cast<uint32_t>(idle_.size()); }
  // The backend's last TLS session on this worker, offered by the next connection.
  tls::ClientSessionSlot& tlsSessions() { return tls_sessions_; }
  // This worker's slot of the backend's shared figures.
  BackendWorkerStats& stats() { return *stats_; }
  // This worker's slot of the pool's timings (set by the worker from the pool snapshot).
  void setPoolStats(std::shared_ptr<PoolStats> pool_stats);
  PoolWorkerStats* poolStats() { return pool_stats_; }

  // Passive health: outcomes of live exchanges. noteFailure() returns true when this worker has
  // just seen the pool's `outlier_consecutive_failures` failures in a row (and starts counting
  // again), which is when the backend should be reported.
  bool noteFailure();
  void noteSuccess() { consecutive_failures_ = 0; }

  // Drained or disabled by an operator: idle connections close now, busy ones after their
  // exchange, none is pooled.
  void setDraining(bool draining);
  bool draining() const { return draining_; }

  // A newer snapshot changed the pool's settings or the backend's weight.
  void update(std::shared_ptr<const BackendInfo> info, const PoolSettings& settings);
  // Closes every idle connection (drain, shutdown, backend removed).
  void closeIdleConnections();
  // The backend left the configuration: no new requests; `on_unused` runs once nothing uses
  // this object any more (may run immediately).
  void retire(std::function<void(WorkerBackend*)> on_unused);
  bool retired() const { return retired_; }

 private:
  friend class UpstreamConnection;
  // Connection callbacks.
  void connectionIdle(UpstreamConnection* connection);  // returns it to the pool or closes it
  void unlinkIdle(UpstreamConnection* connection);
  void connectionClosed();
  void checkUnused();

  uv_loop_t* loop_;
  core::TimeoutQueue& timeouts_;
  std::shared_ptr<const BackendInfo> info_;
  PoolSettings settings_;
  const uint32_t worker_;
  std::shared_ptr<BackendStats> stats_owner_;  // keeps stats_ alive
  BackendWorkerStats* stats_;
  std::shared_ptr<PoolStats> pool_stats_owner_;
  PoolWorkerStats* pool_stats_ = nullptr;
  // Idle connections, most recently used first (their links are in UpstreamConnection).
  core::IntrusiveList<UpstreamConnection> idle_;
  uint32_t open_connections_ = 0;
  uint32_t active_requests_ = 0;
  bool retired_ = false;
  bool draining_ = false;
  uint32_t consecutive_failures_ = 0;
  std::function<void(WorkerBackend*)> on_unused_;
  tls::ClientSessionSlot tls_sessions_;
};

}  // namespace sy::upstream
