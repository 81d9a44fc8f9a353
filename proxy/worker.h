#pragma once

#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/dispatcher.h"
#include "core/intrusive_list.h"
#include "core/log_throttle.h"
#include "core/loop_context.h"
#include "core/timeout_queue.h"
#include "core/worker_stats.h"
#include "proxy/access_log.h"
#include "proxy/client_limits.h"
#include "proxy/h2_session_memory.h"
#include "routing/snapshot.h"
#include "upstream/balancer.h"
#include "upstream/connection_pool.h"
#include "upstream/worker_pools.h"

namespace sy::proxy {

class DownstreamConnection;
class Listener;
class MirrorExchange;

// A snapshot as one worker holds it. Requests pin the current one for their whole life; when a
// newer snapshot is adopted the old one is freed as soon as its last request ends. The count is
// a plain integer: only this worker's thread touches it.
struct PinnedSnapshot {
  routing::ConfigSnapshotPtr snapshot;
  uint32_t users = 0;
  bool current = true;
};

using upstream::WorkerPool;

// Exchange blocks (ProxySession, H2Stream) a worker thread keeps the memory of, each type its
// own list (core::ThreadRecycler). Two h2 connections at the default
// http2_max_concurrent_streams (128) run 256 streams at once; with 128 kept a third of their
// allocations went through malloc's slow path (h2load -c2 -m100: ~290 user-space instructions
// per request for the two objects). At most ~160 KB per worker.
inline constexpr size_t kRecycledExchanges = 256;

// One worker thread with its own libuv loop and its own SO_REUSEPORT listeners. Connections
// accepted here stay here for life; nothing on the request path is shared with another thread.
class Worker {
 public:
  // Reports from the worker to the control thread; both run on the worker thread and must only
  // post to the control loop.
  struct Hooks {
    std::function<void(uint32_t worker)> started;
    std::function<void(uint32_t worker)> drained;  // no client connection left after drain()
    std::function<void(uint32_t worker)> stopped;
    // A backend failed `outlier_consecutive_failures` live requests in a row on this worker.
    std::function<void(const std::string& pool, const std::string& address)> outlier;
  };

  Worker(uint32_t index, Hooks hooks);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Control thread. `listen_fds[i]` is a bound, listening socket for snapshot listener i; the
  // worker owns them from here. Returns a libuv error code.
  // `access_log` (may be off) is in place before the first connection is accepted.
  int start(std::vector<int> listen_fds, routing::ConfigSnapshotPtr initial,
            const AccessLogSettings& access_log = {});
  void join();

  // Control thread: run `task` on this worker's loop. False once the worker stopped.
  bool post(core::Dispatcher::Task task) { return dispatcher_.post(std::move(task)); }

  // ---- Worker thread only from here on. ----
  uint32_t index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  core::TimeoutQueue& timeouts() { return timeouts_; }
  // Pages for the HTTP/2 connections' nghttp2 sessions (proxy/h2_session_memory.h).
  H2SlotPool& h2SlotPool() { return h2_slots_; }
  core::LoopContext& loopContext() { return *loop_context_; }
  core::WorkerStats& stats() { return stats_; }
  ClientLimits& clientLimits() { return client_limits_; }
  // Refused PROXY headers, logged at most once a second per listener and reason.
  core::LogThrottle& proxyProtocolLog() { return proxy_protocol_log_; }
  const core::WorkerStats& stats() const { return stats_; }

  // Switches new requests to `snapshot`; requests in flight keep theirs. Connections of a
  // listener the snapshot removes, or changes in a way they cannot follow
  // (proxy/listener_revision.h), are retired: they finish what is in flight, then close.
  void adopt(routing::ConfigSnapshotPtr snapshot);
  // A reload changed the listeners: closes the sockets of `closed` (listener ids) and starts
  // accepting on `opened` (id, listening socket; the worker owns them from here). Connections
  // already accepted on a closed socket finish what is in flight and then close (retire()).
  void updateListeners(const std::vector<uint32_t>& closed,
                       const std::vector<std::pair<uint32_t, int>>& opened);
  // The settings of listener `id`: the current snapshot's, or for a listener a reload removed
  // (its connections live on), the last ones it had.
  const routing::ListenerSettings& listenerSettings(uint32_t id) const {
    if (id < listener_slots_.size() && listener_slots_[id] >= 0) {
      return current_->snapshot->listeners[static_cast<size_t>(listener_slots_[id])];
    }
    return retired_listeners_.at(id);
  }
  uint64_t generation() const { return current_->snapshot->generation; }
  const routing::ConfigSnapshot& currentSnapshot() const { return *current_->snapshot; }
  PinnedSnapshot* pinCurrent() {
    ++current_->users;
    return current_;
  }
  void unpin(PinnedSnapshot* pinned);
  // The current snapshot's pools by index, and any current pool by its stable id (retries).
  WorkerPool* poolAt(uint32_t index) { return pools_.at(index); }
  WorkerPool* poolById(uint64_t id) { return pools_.byId(id); }

  // Graceful shutdown, in two steps. drain(false) (the accept grace): keep-alive ends, idle
  // keep-alive connections close, busy ones close after their response, and new connections
  // are still accepted (each serves one request with Connection: close). drain(true) also
  // stops accepting; the `drained` hook reports once no client connection is left after it.
  void drain(bool stop_accepting);
  bool draining() const { return draining_; }
  // Closes every connection now and stops the loop; requests cut are logged with `reason`
  // (a static string).
  void stop(std::string_view reason);

  // Connection bookkeeping.
  void connectionOpened(DownstreamConnection* connection);
  void connectionClosed(DownstreamConnection* connection);
  // Runs connection->runDeferred() soon, outside the current callback stack.
  void defer(DownstreamConnection* connection);
  void cancelDeferred(DownstreamConnection* connection);

  uint64_t nextRandom();
  void reportOutlier(const upstream::BackendInfo& backend);

  // Mirror copies in flight on this worker.
  void mirrorStarted(MirrorExchange* mirror);
  void mirrorFinished(MirrorExchange* mirror);
  uint32_t mirrorsInFlight() const { return static_cast<uint32_t>(mirrors_.size()); }
  // Closes the idle backend connections of these pools (a switch left them without traffic).
  void closeIdleConnections(const std::vector<uint64_t>& pool_ids);

  // The access log: null when off. setAccessLog(nullptr, ...) turns it off.
  AccessLogWriter* accessLog() { return access_log_.get(); }
  void setAccessLog(std::shared_ptr<AccessLogSink> sink, uint64_t flush_interval_ms,
                    size_t buffer_bytes);

 private:
  void run();
  void checkDrained();
  // Graceful end of every connection accepted on listener `id` (DownstreamConnection::retire).
  void retireConnections(uint32_t listener_id);
  static void onIdle(uv_idle_t* handle);

  const uint32_t index_;
  Hooks hooks_;
  std::thread thread_;
  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> loop_context_;
  core::Dispatcher dispatcher_;
  core::TimeoutQueue timeouts_;
  uv_idle_t idle_{};
  std::vector<std::unique_ptr<Listener>> listeners_;
  PinnedSnapshot* current_ = nullptr;
  // Index in the current snapshot's listeners by listener id; -1 for one a reload removed.
  std::vector<int32_t> listener_slots_;
  // Settings of removed listeners, for their connections (one entry per removed name).
  absl::flat_hash_map<uint32_t, routing::ListenerSettings> retired_listeners_;
  upstream::WorkerPools pools_;
  core::IntrusiveList<DownstreamConnection> connections_;  // every client connection
  std::vector<DownstreamConnection*> deferred_;
  core::IntrusiveList<MirrorExchange> mirrors_;
  core::WorkerStats stats_;
  // Declared before any connection can exist and destroyed after the loop ends, so the
  // connections' tickets always find it.
  ClientLimits client_limits_;
  // Also declared before the connections can exist: their sessions live in its slots.
  H2SlotPool h2_slots_;
  core::LogThrottle proxy_protocol_log_;
  std::unique_ptr<AccessLogWriter> access_log_;
  uint64_t random_state_;
  bool draining_ = false;
  bool accepting_stopped_ = false;
  bool drained_reported_ = false;
  bool stopping_ = false;
};

}  // namespace sy::proxy
