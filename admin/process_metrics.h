#pragma once

// The process_* families of /metrics, named and defined as the Prometheus client libraries
// export them (client_golang, client_python): CPU seconds, resident and virtual memory, open
// and maximum file descriptors, start time. Read from /proc/self at scrape time (Linux).

#include <vector>

#include "prometheus/metric_family.h"

namespace sy::admin {

void collectProcessMetrics(std::vector<prometheus::MetricFamily>* out);

}  // namespace sy::admin
