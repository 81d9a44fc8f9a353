#pragma once

#include <cstddef>
#include <vector>

#include "proxy/core/local_counter.h"
#include "proxy/core/local_histogram.h"

namespace sy::routing {

// One worker's figures for the requests of one route served by one pool.
struct alignas(64) RoutePoolWorkerStats {
  core::LocalCounter responses[5];  // by status class: 1xx .. 5xx
  core::LocalHistogram duration;    // request head received -> response complete
};

// One worker's figures for the copies a route sends to its mirror pool.
struct alignas(64) MirrorWorkerStats {
  core::LocalCounter sent;      // copies started
  core::LocalCounter dropped;   // not sent or cut: cap reached, shadow too slow, body too large
  core::LocalCounter failed;    // connect failure, timeout, reset, invalid response
  core::LocalCounter responses[5];  // answers by status class (then thrown away)
  core::LocalHistogram duration;    // copy started -> its response complete
};

class MirrorStats {
 public:
  explicit MirrorStats(size_t workers) : slots_(workers == 0 ? 1 : workers) {}
  MirrorWorkerStats& slot(size_t worker) { return slots_[worker < slots_.size() ? worker : 0]; }
  const std::vector<MirrorWorkerStats>& slots() const { return slots_; }

 private:
  std::vector<MirrorWorkerStats> slots_;
};

// The figures of one (route, pool) pair, one slot per worker. The snapshot builder keeps one
// object per pair for as long as both exist, so counters never restart on a reload or a switch.
class RoutePoolStats {
 public:
  explicit RoutePoolStats(size_t workers) : slots_(workers == 0 ? 1 : workers) {}
  RoutePoolWorkerStats& slot(size_t worker) { return slots_[worker < slots_.size() ? worker : 0]; }
  const std::vector<RoutePoolWorkerStats>& slots() const { return slots_; }

 private:
  std::vector<RoutePoolWorkerStats> slots_;
};

}  // namespace sy::routing
