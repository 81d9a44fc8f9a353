#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/local_counter.h"

namespace sy::core {

// A latency histogram written by one thread and read by others, for the request path:
// prometheus::Histogram::Observe locks a mutex, this is a short scan and three relaxed stores.
// Bucket bounds suit a proxy: from half a millisecond to a minute.
class LocalHistogram {
 public:
  static constexpr std::array<double, 16> kBoundsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  static constexpr size_t kBuckets = kBoundsSeconds.size() + 1;  // the last is +Inf

  void observeNanos(uint64_t nanos) {
    const double seconds = static_cast<double>(nanos) * 1e-9;
    size_t bucket = 0;
    while (bucket < kBoundsSeconds.size() && seconds > kBoundsSeconds[bucket]) ++bucket;
    buckets_[bucket].add();
    sum_nanos_.add(nanos);
  }

  // Readers: per-bucket (not cumulative) counts and the sum.
  uint64_t bucketCount(size_t bucket) const { return buckets_[bucket].get(); }
  uint64_t sumNanos() const { return sum_nanos_.get(); }

 private:
  std::array<LocalCounter, kBuckets> buckets_;
  LocalCounter sum_nanos_;
};

// The sum of several LocalHistograms (one per worker), as the scrape needs it.
struct HistogramTotals {
  std::array<uint64_t, LocalHistogram::kBuckets> buckets{};
  uint64_t sum_nanos = 0;

  void add(const LocalHistogram& h) {
    for (size_t i = 0; i < LocalHistogram::kBuckets; ++i) buckets[i] += h.bucketCount(i);
    sum_nanos += h.sumNanos();
  }
  uint64_t count() const {
    uint64_t total = 0;
    for (uint64_t b : buckets) total += b;
    return total;
  }
};

}  // namespace sy::core
