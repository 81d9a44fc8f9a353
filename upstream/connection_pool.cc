#include "upstream/connection_pool.h"

#include <utility>

namespace sy::upstream {

WorkerBackend::WorkerBackend(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                             std::shared_ptr<const BackendInfo> info, const PoolSettings& settings,
                             uint32_t worker)
    : loop_(loop),
      timeouts_(timeouts),
      info_(std::move(info)),
      settings_(settings),
      worker_(worker),
      // A backend built outside a snapshot (tests) has no shared figures: a private object with a
      // slot for this worker keeps the writes somewhere.
      stats_owner_(info_->stats != nullptr ? info_->stats
                                           : std::make_shared<BackendStats>(worker + 1)),
      stats_(&stats_owner_->slot(worker)) {}

WorkerBackend::~WorkerBackend() = default;

UpstreamConnection* WorkerBackend::acquire(int* uv_error) {
  if (!idle_.empty()) {
    UpstreamConnection* connection = idle_.front();
    unlinkIdle(connection);
    connection->state_ = UpstreamConnection::State::kIdle;  // attach() makes it active
    return connection;
  }
  auto* connection = new UpstreamConnection(*this);
  ++open_connections_;
  stats_->open_connections.add();
  const int rc = connection->connect();
  if (rc != 0) {
    *uv_error = rc;
    connection->close();  // frees itself from the close callback
    return nullptr;
  }
  return connection;
}

void WorkerBackend::setPoolStats(std::shared_ptr<PoolStats> pool_stats) {
  if (pool_stats == pool_stats_owner_) return;
  pool_stats_owner_ = std::move(pool_stats);
  pool_stats_ = pool_stats_owner_ != nullptr ? &pool_stats_owner_->slot(worker_) : nullptr;
}

bool WorkerBackend::noteFailure() {
  const uint32_t threshold = settings_.outlier_consecutive_failures;
  if (threshold == 0) return false;
  if (++consecutive_failures_ < threshold) return false;
  consecutive_failures_ = 0;
  return true;
}

void WorkerBackend::setDraining(bool draining) {
  draining_ = draining;
  if (draining_) closeIdleConnections();
}

void WorkerBackend::requestFinished() {
  --active_requests_;
  stats_->active_requests.sub();
  checkUnused();
}

void WorkerBackend::update(std::shared_ptr<const BackendInfo> info, const PoolSettings& settings) {
  info_ = std::move(info);
  // The builder carries the stats object over while the backend stays configured.
  if (info_->stats != nullptr && info_->stats != stats_owner_) {
    BackendWorkerStats& next = info_->stats->slot(worker_);
    next.active_requests.set(active_requests_);
    next.open_connections.set(open_connections_);
    next.idle_connections.set(idle_.size());
    stats_owner_ = info_->stats;
    stats_ = &next;
  }
  // Pooled connections speak what the pool spoke when they were opened: a change of the pool's
  // TLS settings retires them (a new context for the same settings, as every reload makes, not).
  const bool tls_changed =
      (settings.tls == nullptr) != (settings_.tls == nullptr) ||
      (settings.tls != nullptr && !(settings.tls->settings() == settings_.tls->settings()));
  settings_ = settings;
  if (tls_changed) closeIdleConnections();
  while (idle_.size() > settings_.keepalive_max_idle) {
    idle_.front()->close();  // unlinks itself
  }
}

void WorkerBackend::connectionIdle(UpstreamConnection* connection) {
  if (retired_ || draining_ || idle_.size() >= settings_.keepalive_max_idle) {
    connection->close();
    return;
  }
  idle_.pushFront(connection);
  stats_->idle_connections.add();
  timeouts_.schedule(connection, settings_.keepalive_timeout_ms);
}

void WorkerBackend::unlinkIdle(UpstreamConnection* connection) {
  if (!idle_.contains(connection)) return;
  idle_.remove(connection);
  stats_->idle_connections.sub();
}

void WorkerBackend::closeIdleConnections() {
  while (!idle_.empty()) idle_.front()->close();  // each unlinks itself
}

void WorkerBackend::connectionClosed() {
  --open_connections_;
  stats_->open_connections.sub();
  checkUnused();
}

void WorkerBackend::retire(std::function<void(WorkerBackend*)> on_unused) {
  retired_ = true;
  on_unused_ = std::move(on_unused);
  closeIdleConnections();
  checkUnused();
}

void WorkerBackend::checkUnused() {
  if (!retired_ || open_connections_ != 0 || active_requests_ != 0 || !on_unused_) return;
  auto on_unused = std::move(on_unused_);
  on_unused_ = nullptr;
  on_unused(this);
}

}  // namespace sy::upstream
