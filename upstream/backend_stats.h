#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "proxy/core/local_counter.h"

namespace sy::upstream {

// One worker's figures for one backend. Only that worker writes them.
struct alignas(64) BackendWorkerStats {
  core::LocalCounter active_requests;   // gauge
  core::LocalCounter open_connections;  // gauge
  core::LocalCounter idle_connections;  // gauge
  core::LocalCounter requests;
  core::LocalCounter connect_failures;
  core::LocalCounter timeouts;
  core::LocalCounter resets;            // closed or reset before the response completed
  core::LocalCounter protocol_errors;
  core::LocalCounter responses_5xx;
};

// A backend's figures, one slot per worker, summed by readers on the control thread. Created by
// the snapshot builder and carried over from snapshot to snapshot for as long as the backend is
// configured, so counters never restart on a reload.
class BackendStats {
 public:
  explicit BackendStats(size_t workers) : slots_(workers == 0 ? 1 : workers) {}
  BackendWorkerStats& slot(size_t worker) { return slots_[worker < slots_.size() ? worker : 0]; }

  template <class Field>
  uint64_t sum(Field field) const {
    uint64_t total = 0;
    for (const BackendWorkerStats& s : slots_) total += (s.*field).get();
    return total;
  }

 private:
  std::vector<BackendWorkerStats> slots_;
};

}  // namespace sy::upstream
