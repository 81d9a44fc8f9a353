#pragma once

#include <cstddef>
#include <vector>

#include "proxy/core/local_histogram.h"

namespace sy::upstream {

// One worker's timings for one pool. Only that worker writes them.
struct alignas(64) PoolWorkerStats {
  core::LocalHistogram connect_duration;          // new backend connections
  core::LocalHistogram response_header_duration;  // request start -> response head
};

// A pool's timings, one slot per worker; kept by the snapshot builder across snapshots for as
// long as the pool is configured.
class PoolStats {
 public:
  explicit PoolStats(size_t workers) : slots_(workers == 0 ? 1 : workers) {}
  PoolWorkerStats& slot(size_t worker) { return slots_[worker < slots_.size() ? worker : 0]; }
  const std::vector<PoolWorkerStats>& slots() const { return slots_; }

 private:
  std::vector<PoolWorkerStats> slots_;
};

}  // namespace sy::upstream
