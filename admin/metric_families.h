#pragma once

// Families built at scrape time from figures the process already keeps (rather than registered
// prometheus-cpp metrics): handed to TextSerializer with the others, so that the exposition
// format is the library's everywhere.

#include <string>
#include <vector>

#include "prometheus/metric_family.h"

namespace sy::admin {

// An empty family; `type` decides which value field addSample fills.
prometheus::MetricFamily makeFamily(std::string name, std::string help,
                                    prometheus::MetricType type);

// Appends one sample with `labels` to a Counter or Gauge family.
void addSample(prometheus::MetricFamily& family,
               std::vector<prometheus::ClientMetric::Label> labels, double value);

// Appends a family with one sample and no labels (a process-wide figure). `type` is Counter or
// Gauge.
void addUnlabeledFamily(std::vector<prometheus::MetricFamily>* out, std::string name,
                        std::string help, prometheus::MetricType type, double value);

}  // namespace sy::admin
