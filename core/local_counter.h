#pragma once

#include <atomic>
#include <cstdint>

namespace sy::core {

// A number written by exactly one thread (its worker) and read by others (the control thread,
// at scrape or status time). The owner does a relaxed load and store, no read-modify-write:
// there is no other writer, so the request path pays for a plain add and never contends.
class LocalCounter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { value_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace sy::core
