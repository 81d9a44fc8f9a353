#include "upstream/connection_pool.h"

#include <utility>

namespace sy::upstream {

WorkerBackend::WorkerBackend(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                             std::shared_ptr<const BackendInfo> info, const PoolSettings& settings)
    : loop_(loop), timeouts_(timeouts), info_(std::move(info)), settings_(settings) {}

WorkerBackend::~WorkerBackend() = default;

UpstreamConnection* WorkerBackend::acquire(int* uv_error) {
  if (idle_head_ != nullptr) {
    UpstreamConnection* connection = idle_head_;
    unlinkIdle(connection);
    connection->state_ = UpstreamConnection::State::kIdle;  // attach() makes it active
    return connection;
  }
  auto* connection = new UpstreamConnection(*this);
  ++open_connections_;
  const int rc = connection->connect();
  if (rc != 0) {
    *uv_error = rc;
    connection->close();  // frees itself from the close callback
    return nullptr;
  }
  return connection;
}

void WorkerBackend::requestFinished() {
  --active_requests_;
  checkUnused();
}

void WorkerBackend::update(std::shared_ptr<const BackendInfo> info, const PoolSettings& settings) {
  info_ = std::move(info);
  settings_ = settings;
  while (idle_count_ > settings_.keepalive_max_idle && idle_head_ != nullptr) {
    idle_head_->close();
  }
}

void WorkerBackend::connectionIdle(UpstreamConnection* connection) {
  if (retired_ || idle_count_ >= settings_.keepalive_max_idle) {
    connection->close();
    return;
  }
  connection->idle_prev_ = nullptr;
  connection->idle_next_ = idle_head_;
  if (idle_head_ != nullptr) idle_head_->idle_prev_ = connection;
  idle_head_ = connection;
  ++idle_count_;
  timeouts_.schedule(connection, settings_.keepalive_timeout_ms);
}

void WorkerBackend::unlinkIdle(UpstreamConnection* connection) {
  if (connection->idle_prev_ != nullptr) {
    connection->idle_prev_->idle_next_ = connection->idle_next_;
  } else if (idle_head_ == connection) {
    idle_head_ = connection->idle_next_;
  } else {
    return;  // not in the list
  }
  if (connection->idle_next_ != nullptr) connection->idle_next_->idle_prev_ = connection->idle_prev_;
  connection->idle_prev_ = connection->idle_next_ = nullptr;
  --idle_count_;
}

void WorkerBackend::closeIdleConnections() {
  while (idle_head_ != nullptr) idle_head_->close();
}

void WorkerBackend::connectionClosed() {
  --open_connections_;
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
