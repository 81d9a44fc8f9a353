#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/assert.h"

namespace sy::core {

// The size of the cache line that two workers must never share.
inline constexpr size_t kCacheLineSize = 64;

// Figures shared by every worker, one slot each: a worker writes only its own slot, the control
// thread sums the slots at scrape time. `T` must be cache-line aligned (alignas(64)) so that two
// workers never write the same line.
//
// A worker index past the last slot is a bug (a slot object built for fewer workers than run):
// slot() fails a check instead of quietly sharing slot 0 with worker 0.
template <class T>
class PerWorker {
  static_assert(alignof(T) % kCacheLineSize == 0,
                "a per-worker slot must be alignas(kCacheLineSize): workers would share a line");

 public:
  // At least one slot: tests and tools may build objects for "no worker yet".
  explicit PerWorker(size_t workers) : slots_(workers == 0 ? 1 : workers) {}

  T& slot(size_t worker) {
    SY_CHECK(worker < slots_.size(), "worker index past the per-worker slots");
    return slots_[worker];
  }
  const T& slot(size_t worker) const {
    SY_CHECK(worker < slots_.size(), "worker index past the per-worker slots");
    return slots_[worker];
  }
  const std::vector<T>& slots() const { return slots_; }
  size_t size() const { return slots_.size(); }

  // The sum of one counter field over every slot (`&T::field`, a type with get()).
  template <class Field>
  uint64_t sum(Field field) const {
    uint64_t total = 0;
    for (const T& s : slots_) total += (s.*field).get();
    return total;
  }

 private:
  std::vector<T> slots_;
};

}  // namespace sy::core
