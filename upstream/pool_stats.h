#pragma once

#include <cstddef>
#include <vector>

#include "core/local_histogram.h"
#include "core/per_worker.h"

namespace sy::upstream {

// One worker's timings for one pool. Only that worker writes them.
struct alignas(64) PoolWorkerStats {
  core::LocalHistogram connect_duration;          // new backend connections
  core::LocalHistogram response_header_duration;  // request start -> response head
};

// A pool's timings, one slot per worker; kept by the snapshot builder across snapshots for as
// long as the pool is configured.
using PoolStats = core::PerWorker<PoolWorkerStats>;

}  // namespace sy::upstream
