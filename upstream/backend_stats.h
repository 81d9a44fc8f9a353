#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/local_counter.h"
#include "core/per_worker.h"
#include "core/stat_info.h"

namespace sy::upstream {

// One worker's figures for one backend, declared once (core/stat_info.h says how); each series
// also has the labels pool and backend. Only that worker writes them.
#define SY_BACKEND_STATS(COUNTER, GAUGE)                                                           \
  COUNTER(requests, "switchyard_backend_requests_total", {},                                       \
          "Requests sent to a backend (each try counts).")                                         \
  COUNTER(connect_failures, "switchyard_backend_errors_total",                                     \
          (core::StatLabel{"kind", "connect_failure"}), kBackendErrorsHelp)                        \
  COUNTER(timeouts, "switchyard_backend_errors_total", (core::StatLabel{"kind", "timeout"}),       \
          kBackendErrorsHelp)                                                                      \
  /* closed or reset before the response completed */                                              \
  COUNTER(resets, "switchyard_backend_errors_total", (core::StatLabel{"kind", "reset"}),           \
          kBackendErrorsHelp)                                                                      \
  COUNTER(protocol_errors, "switchyard_backend_errors_total",                                      \
          (core::StatLabel{"kind", "protocol_error"}), kBackendErrorsHelp)                         \
  COUNTER(responses_5xx, "switchyard_backend_errors_total", (core::StatLabel{"kind", "http_5xx"}), \
          kBackendErrorsHelp)                                                                      \
  GAUGE(active_requests, "switchyard_backend_in_flight_requests", {},                              \
        "Requests in flight to a backend.")                                                        \
  GAUGE(open_connections, "switchyard_backend_connections", (core::StatLabel{"state", "open"}),    \
        kBackendConnectionsHelp)                                                                   \
  GAUGE(idle_connections, "switchyard_backend_connections", (core::StatLabel{"state", "idle"}),    \
        kBackendConnectionsHelp)                                                                   \
  /* TLS handshakes to the backend (pools with tls; 0 for the others) */                           \
  COUNTER(tls_full, "switchyard_backend_tls_handshakes_total",                                     \
          (core::StatLabel{"session", "full"}), kBackendTlsHelp)                                   \
  COUNTER(tls_resumed, "switchyard_backend_tls_handshakes_total",                                  \
          (core::StatLabel{"session", "resumed"}), kBackendTlsHelp)

inline constexpr const char* kBackendErrorsHelp = "Failed exchanges with a backend, by kind.";
inline constexpr const char* kBackendTlsHelp =
    "TLS handshakes to a backend of a pool with tls: full, or resumed from this worker's last "
    "session with it.";
inline constexpr const char* kBackendConnectionsHelp =
    "Connections to a backend: open (idle included) and idle.";

struct alignas(64) BackendWorkerStats {
  SY_BACKEND_STATS(SY_STAT_FIELD, SY_STAT_FIELD)
};

inline constexpr core::StatInfo<BackendWorkerStats> kBackendStatInfo[] = {
#define SY_BACKEND_STAT_COUNTER(field, metric, label, help) \
  {&BackendWorkerStats::field, metric, false, label, help},
#define SY_BACKEND_STAT_GAUGE(field, metric, label, help) \
  {&BackendWorkerStats::field, metric, true, label, help},
    SY_BACKEND_STATS(SY_BACKEND_STAT_COUNTER, SY_BACKEND_STAT_GAUGE)
#undef SY_BACKEND_STAT_COUNTER
#undef SY_BACKEND_STAT_GAUGE
};

// A backend's figures, one slot per worker, summed by readers on the control thread. Created by
// the snapshot builder and carried over from snapshot to snapshot for as long as the backend is
// configured, so counters never restart on a reload.
using BackendStats = core::PerWorker<BackendWorkerStats>;

}  // namespace sy::upstream
