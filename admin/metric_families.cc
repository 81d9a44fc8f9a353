#include "admin/metric_families.h"

#include <utility>

namespace sy::admin {

prometheus::MetricFamily makeFamily(std::string name, std::string help,
                                    prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void addSample(prometheus::MetricFamily& family,
               std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void addUnlabeledFamily(std::vector<prometheus::MetricFamily>* out, std::string name,
                        std::string help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily family = makeFamily(std::move(name), std::move(help), type);
  addSample(family, {}, value);
  out->push_back(std::move(family));
}

}  // namespace sy::admin
