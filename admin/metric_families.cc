#include "admin/metric_families.h"

#include <utility>

namespace sy::admin {

void addUnlabeledFamily(std::vector<prometheus::MetricFamily>* out, std::string name,
                        std::string help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  out->push_back(std::move(family));
}

}  // namespace sy::admin
