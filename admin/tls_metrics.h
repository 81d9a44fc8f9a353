#pragma once

// The switchyard_tls_* families of /metrics: handshakes by result, resumptions and versions
// (per-worker counters of each TLS listener, summed here), and the expiry of the certificates
// the listeners serve now (read from the snapshot's contexts, so a reload refreshes them).

#include <vector>

#include "prometheus/metric_family.h"
#include "routing/snapshot.h"

namespace sy::admin {

void collectTlsMetrics(const routing::ConfigSnapshot& snapshot,
                       std::vector<prometheus::MetricFamily>* out);

}  // namespace sy::admin
