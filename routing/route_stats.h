#pragma once

#include <cstddef>
#include <vector>

#include "core/local_counter.h"
#include "core/local_histogram.h"
#include "core/per_worker.h"

namespace sy::routing {

// One worker's figures for the requests of one route served by one pool.
struct alignas(64) RoutePoolWorkerStats {
  core::LocalCounter responses[5];  // by status class: 1xx .. 5xx
  core::LocalHistogram duration;    // request head received -> response complete
};

// One worker's figures for the copies a route sends to its mirror pool.
struct alignas(64) MirrorWorkerStats {
  core::LocalCounter sent;          // copies started
  core::LocalCounter dropped;       // not sent or cut: cap reached, shadow too slow, body too large
  core::LocalCounter failed;        // connect failure, timeout, reset, invalid response
  core::LocalCounter responses[5];  // answers by status class (then thrown away)
  core::LocalHistogram duration;    // copy started -> its response complete
};

using MirrorStats = core::PerWorker<MirrorWorkerStats>;

// The figures of one (route, pool) pair, one slot per worker. The snapshot builder keeps one
// object per pair for as long as both exist, so counters never restart on a reload or a switch.
using RoutePoolStats = core::PerWorker<RoutePoolWorkerStats>;

}  // namespace sy::routing
