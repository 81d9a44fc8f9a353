#include "proxy/worker.h"

#include <unistd.h>

#include "core/log.h"
#include "core/signals.h"
#include "core/stable_hash.h"
#include "core/thread_role.h"
#include "proxy/downstream_connection.h"
#include "proxy/listener.h"
#include "proxy/listener_revision.h"
#include "proxy/mirror_exchange.h"

namespace sy::proxy {

Worker::Worker(uint32_t index, Hooks hooks)
    : index_(index),
      hooks_(std::move(hooks)),
      pools_(&loop_, timeouts_, index, [this] { return nextRandom(); }),
      client_limits_(index),
      random_state_(core::mix64(index + 1)) {}

Worker::~Worker() { join(); }

int Worker::start(std::vector<int> listen_fds, routing::ConfigSnapshotPtr initial,
                  const AccessLogSettings& access_log) {
  // Handles are initialised here, before the thread exists; from then on only the worker
  // thread touches the loop (thread creation orders these writes before its first read).
  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    for (int fd : listen_fds) ::close(fd);
    return rc;
  }
  loop_context_ = std::make_unique<core::LoopContext>(&loop_);
  if ((rc = loop_context_->startFlushing()) != 0 || (rc = dispatcher_.init(&loop_)) != 0 ||
      (rc = timeouts_.init(&loop_)) != 0 || (rc = uv_idle_init(&loop_, &idle_)) != 0) {
    for (int fd : listen_fds) ::close(fd);
    return rc;
  }
  idle_.data = this;
  adopt(std::move(initial));
  if (access_log.sink != nullptr) {
    setAccessLog(access_log.sink, access_log.flush_interval_ms, access_log.buffer_bytes);
  }
  for (size_t i = 0; i < listen_fds.size(); ++i) {
    auto listener = std::make_unique<Listener>(*this, current_->snapshot->listeners.at(i).id);
    rc = listener->open(listen_fds[i]);
    if (rc != 0) {
      for (size_t j = i + 1; j < listen_fds.size(); ++j) ::close(listen_fds[j]);
      return rc;
    }
    listeners_.push_back(std::move(listener));
  }
  // The thread inherits the mask: control signals are for the control thread only.
  const sigset_t previous = core::blockControlSignals();
  thread_ = std::thread([this] { run(); });
  core::restoreSignalMask(previous);
  return 0;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  core::setThreadRole(core::ThreadRole::kWorker, index_);
  if (hooks_.started) hooks_.started(index_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Every connection is gone; what is left only needs freeing.
  pools_.clear();
  if (current_ != nullptr && current_->users == 0) delete current_;
  current_ = nullptr;
  const int rc = uv_loop_close(&loop_);
  if (rc != 0)
    core::logError("worker_loop_close_failed", {{"worker", index_}, {"error", uv_strerror(rc)}});
  loop_context_.reset();
  if (hooks_.stopped) hooks_.stopped(index_);
}

void Worker::adopt(routing::ConfigSnapshotPtr snapshot) {
  std::vector<int32_t> slots;
  std::vector<uint32_t> retired;  // listeners whose connections must end
  for (size_t i = 0; i < snapshot->listeners.size(); ++i) {
    const uint32_t id = snapshot->listeners[i].id;
    if (id >= slots.size()) slots.resize(id + 1, -1);
    slots[id] = static_cast<int32_t>(i);
    retired_listeners_.erase(id);  // back again
  }
  if (current_ != nullptr) {
    for (const routing::ListenerSettings& old : current_->snapshot->listeners) {
      if (old.id >= slots.size() || slots[old.id] < 0) {
        retired_listeners_[old.id] = old;
        retired.push_back(old.id);
      } else if (listenerChangeEndsConnections(
                     old, snapshot->listeners[static_cast<size_t>(slots[old.id])])) {
        retired.push_back(old.id);
      }
    }
  }
  listener_slots_ = std::move(slots);
  if (current_ != nullptr) {
    current_->current = false;
    if (current_->users == 0) delete current_;
  }
  current_ = new PinnedSnapshot{std::move(snapshot), 0, true};
  pools_.rebuild(current_->snapshot->pools);
  // After the switch: a removed listener's connections find its settings among the retired.
  for (uint32_t id : retired) retireConnections(id);
}

void Worker::retireConnections(uint32_t listener_id) {
  // Retiring may close a connection, but frees nothing before its close callback.
  connections_.forEach([listener_id](DownstreamConnection* c) {
    if (c->acceptedOn(listener_id)) c->retire();
  });
}

void Worker::updateListeners(const std::vector<uint32_t>& closed,
                             const std::vector<std::pair<uint32_t, int>>& opened) {
  SY_DCHECK_ON_WORKER_THREAD();
  if (accepting_stopped_) {
    for (const auto& [id, fd] : opened) ::close(fd);
    return;
  }
  for (uint32_t id : closed) {
    // A moved listener (new address or backlog) keeps its id: its connections so far were
    // accepted on the socket closed here.
    retireConnections(id);
    for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
      if ((*it)->id() != id) continue;
      (*it)->close();
      listeners_.erase(it);
      break;
    }
  }
  for (const auto& [id, fd] : opened) {
    auto listener = std::make_unique<Listener>(*this, id);
    const int rc = listener->open(fd);  // closes fd on failure
    if (rc != 0) {
      core::logError("listener_open_failed",
                     {{"worker", index_}, {"listener", id}, {"error", uv_strerror(rc)}});
      continue;
    }
    listeners_.push_back(std::move(listener));
  }
}

void Worker::unpin(PinnedSnapshot* pinned) {
  if (--pinned->users == 0 && !pinned->current) delete pinned;
}

void Worker::connectionOpened(DownstreamConnection* connection) {
  connections_.pushFront(connection);
  stats_.connections_open.add();
}

void Worker::connectionClosed(DownstreamConnection* connection) {
  connections_.remove(connection);
  stats_.connections_open.sub();
  checkDrained();
}

void Worker::defer(DownstreamConnection* connection) {
  if (connection->deferred) return;
  connection->deferred = true;
  deferred_.push_back(connection);
  if (deferred_.size() == 1) uv_idle_start(&idle_, &Worker::onIdle);
}

void Worker::cancelDeferred(DownstreamConnection* connection) {
  connection->deferred = false;
  for (auto it = deferred_.begin(); it != deferred_.end(); ++it) {
    if (*it == connection) {
      deferred_.erase(it);
      break;
    }
  }
  if (deferred_.empty()) uv_idle_stop(&idle_);
}

void Worker::onIdle(uv_idle_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  std::vector<DownstreamConnection*> batch;
  batch.swap(self->deferred_);
  uv_idle_stop(&self->idle_);
  for (DownstreamConnection* connection : batch) {
    if (!connection->deferred) continue;  // cancelled meanwhile
    connection->deferred = false;
    connection->runDeferred();
  }
}

void Worker::closeIdleConnections(const std::vector<uint64_t>& pool_ids) {
  SY_DCHECK_ON_WORKER_THREAD();
  pools_.closeIdleConnections(pool_ids);
}

void Worker::mirrorStarted(MirrorExchange* mirror) { mirrors_.pushFront(mirror); }

void Worker::mirrorFinished(MirrorExchange* mirror) { mirrors_.remove(mirror); }

void Worker::reportOutlier(const upstream::BackendInfo& backend) {
  if (hooks_.outlier) hooks_.outlier(backend.pool, backend.address_text);
}

void Worker::setAccessLog(std::shared_ptr<AccessLogSink> sink, uint64_t flush_interval_ms,
                          size_t buffer_bytes) {
  if (sink == nullptr) {
    access_log_.reset();  // flushes what is buffered
  } else if (access_log_ == nullptr) {
    access_log_ =
        std::make_unique<AccessLogWriter>(&loop_, std::move(sink), flush_interval_ms, buffer_bytes);
  } else {
    access_log_->setSink(std::move(sink));
    access_log_->configure(flush_interval_ms, buffer_bytes);
  }
}

uint64_t Worker::nextRandom() {
  random_state_ += 0x9e3779b97f4a7c15ULL;
  return core::mix64(random_state_);
}

void Worker::drain(bool stop_accepting) {
  SY_DCHECK_ON_WORKER_THREAD();
  if (!draining_) {
    draining_ = true;
    // Draining may close a connection, but frees nothing before its close callback.
    connections_.forEach([](DownstreamConnection* c) { c->drain(); });
  }
  if (stop_accepting && !accepting_stopped_) {
    accepting_stopped_ = true;
    for (auto& listener : listeners_) listener->close();
    listeners_.clear();
    // Kept through the grace: requests accepted then still reuse backend connections.
    pools_.closeAllIdleConnections();
  }
  checkDrained();
}

void Worker::checkDrained() {
  if (!accepting_stopped_ || drained_reported_ || !connections_.empty()) return;
  drained_reported_ = true;
  if (hooks_.drained) hooks_.drained(index_);
}

void Worker::stop(std::string_view reason) {
  SY_DCHECK_ON_WORKER_THREAD();
  if (stopping_) return;
  stopping_ = true;
  draining_ = true;
  accepting_stopped_ = true;
  for (auto& listener : listeners_) listener->close();
  listeners_.clear();
  connections_.forEach([reason](DownstreamConnection* c) { c->forceClose(reason); });
  while (!mirrors_.empty()) mirrors_.front()->abort();  // frees itself and unlinks
  pools_.closeAllIdleConnections();
  deferred_.clear();
  access_log_.reset();  // the last lines reach the log before the worker ends
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
  timeouts_.close();
  dispatcher_.close();
  loop_context_->stopFlushing();
}

}  // namespace sy::proxy
