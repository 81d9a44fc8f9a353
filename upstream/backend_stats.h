#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/local_counter.h"
#include "core/per_worker.h"

namespace sy::upstream {

// One worker's figures for one backend. Only that worker writes them.
struct alignas(64) BackendWorkerStats {
  core::LocalCounter active_requests;   // gauge
  core::LocalCounter open_connections;  // gauge
  core::LocalCounter idle_connections;  // gauge
  core::LocalCounter requests;
  core::LocalCounter connect_failures;
  core::LocalCounter timeouts;
  core::LocalCounter resets;  // closed or reset before the response completed
  core::LocalCounter protocol_errors;
  core::LocalCounter responses_5xx;
  // TLS handshakes to the backend (pools with `tls`): full, and resumed from the last session.
  core::LocalCounter tls_full;
  core::LocalCounter tls_resumed;
};

// A backend's figures, one slot per worker, summed by readers on the control thread. Created by
// the snapshot builder and carried over from snapshot to snapshot for as long as the backend is
// configured, so counters never restart on a reload.
using BackendStats = core::PerWorker<BackendWorkerStats>;

}  // namespace sy::upstream
