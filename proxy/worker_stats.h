#pragma once

#include <atomic>
#include <cstdint>

namespace sy::proxy {

// A counter written by exactly one worker thread and read by the control thread at scrape
// time. The owner does a relaxed load and store (no read-modify-write: there is no other
// writer), so the request path pays for a plain add.
class LocalCounter {
 public:
  void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Per-worker counters; cache-line aligned so that workers never share a line.
struct alignas(64) WorkerStats {
  LocalCounter connections_accepted;
  LocalCounter connections_open;
  LocalCounter requests;
  LocalCounter responses_1xx;
  LocalCounter responses_2xx;
  LocalCounter responses_3xx;
  LocalCounter responses_4xx;
  LocalCounter responses_5xx;
  LocalCounter local_replies;
  LocalCounter upstream_failures;
  LocalCounter retries;
  LocalCounter bytes_in;
  LocalCounter bytes_out;
};

}  // namespace sy::proxy
