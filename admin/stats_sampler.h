#pragma once

// Live figures for GET /admin/stats and the console: once a second the control loop reads the
// per-worker counters /metrics sums (requests by status class and the duration histogram of
// each route and pool, the backends' failure counters), and this keeps the differences from one
// reading to the next in a ring of the last kRingSeconds seconds. Rates, error rates and
// percentiles over a window are computed from those differences, so nothing on the request path
// changes. Control thread only.

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/local_histogram.h"
#include "nlohmann/json.hpp"
#include "routing/snapshot.h"

namespace sy::admin {

// Counters of one route or pool since the start (cumulative), or their change over a second.
struct StatsFigures {
  uint64_t requests = 0;           // responses sent, every status class
  uint64_t responses_5xx = 0;      // 5xx answers (those the proxy made after a failure too)
  uint64_t upstream_failures = 0;  // pools only: connect failures, timeouts, resets, bad answers
  std::array<uint64_t, core::LocalHistogram::kBuckets> duration{};  // per bucket, not cumulative

  void add(const StatsFigures& other);
  // `this` minus `earlier`; a counter that went back (its object was rebuilt) counts from zero.
  StatsFigures since(const StatsFigures& earlier) const;
};

// One reading of every route and pool.
struct StatsReading {
  std::map<std::string, StatsFigures> routes;
  std::map<std::string, StatsFigures> pools;
};

// Sums the workers' counters of `snapshot` (what /metrics reports, without serializing it).
StatsReading readStats(const routing::ConfigSnapshot& snapshot);

// The q-quantile (0..1) of a histogram's per-bucket counts, in milliseconds: linear inside the
// bucket it falls in (the +Inf bucket answers its lower bound). Negative when empty.
double histogramQuantileMs(const std::array<uint64_t, core::LocalHistogram::kBuckets>& buckets,
                           double q);

class StatsSampler {
 public:
  static constexpr size_t kRingSeconds = 300;
  // The windows /admin/stats reports figures over, in seconds.
  static constexpr std::array<int, 3> kWindows = {10, 60, 300};

  // Adds the reading taken at `unix_seconds`; from the second reading on, one sample (the
  // change since the previous reading) enters the ring.
  void add(double unix_seconds, StatsReading reading);
  size_t samples() const { return ring_.size(); }

  // {"interval_seconds", "windows", "times": [unix seconds of each sample, oldest first],
  //  "routes": {NAME: {"windows": {"10s": FIGURES, ...}, "series": SERIES}}, "pools": {...}}
  // FIGURES: {"requests", "rps", "errors", "error_rate", "upstream_failures", "p50_ms",
  // "p99_ms"}; SERIES: {"rps": [...], "error_rate": [...], "p50_ms": [...], "p99_ms": [...]}
  // aligned with "times" (null where a second had no request).
  nlohmann::json toJson() const;

 private:
  struct Sample {
    double unix_seconds = 0;
    StatsReading delta;
  };

  nlohmann::json entityJson(bool pools, const std::string& name) const;

  std::deque<Sample> ring_;  // oldest first, at most kRingSeconds
  StatsReading last_;
  double last_seconds_ = 0;
  bool has_last_ = false;
};

}  // namespace sy::admin
