#pragma once

// Prometheus exposition for /metrics, serialized with prometheus-cpp's TextSerializer.
//
// Two sources: request-path figures live in per-worker, single-writer slots (core::WorkerStats,
// the stats objects of routes, pools and backends in the snapshot) and are summed here at scrape
// time by a custom Collectable, so the request path never touches a shared atomic or a mutex;
// control-plane events (switches, reloads, health checks) are rare and use a normal
// prometheus::Registry owned by the control thread. Control thread only.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/worker_stats.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::admin {

// Health and admin state of one backend, as the health checker knows it.
struct BackendState {
  std::string health = "unchecked";  // healthy | unhealthy | unknown | unchecked
  std::string admin = "ready";       // ready | draining | drained | disabled
};

// Everything the data-plane collector reads; all pointers stay valid during the scrape.
struct DataPlaneView {
  const routing::ConfigSnapshot* snapshot = nullptr;
  const routing::TrafficState* traffic = nullptr;
  std::vector<const core::WorkerStats*> workers;
  // Posts to a worker that failed (proxy/control/publisher.h).
  uint64_t worker_post_failures = 0;
  // By backend id; backends without an entry are reported as unknown/ready.
  std::map<uint64_t, BackendState> backend_states;
};

class DataPlaneCollector final : public prometheus::Collectable {
 public:
  explicit DataPlaneCollector(const DataPlaneView& view) : view_(view) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const DataPlaneView& view_;
};

// Control-plane event counters.
class ControlMetrics {
 public:
  ControlMetrics();

  // Creates the per-route event series at zero, so that rate() and increase() have data before
  // the first event. Call at startup and after each reload.
  void declareRoutes(const std::vector<std::string>& routes);
  void switched(const std::string& route) { switches_.Add({{"route", route}}).Increment(); }
  void rolledBack(const std::string& route) { rollbacks_.Add({{"route", route}}).Increment(); }
  void promoted(const std::string& route) { promotions_.Add({{"route", route}}).Increment(); }
  void canaryChanged(const std::string& route) {
    canary_changes_.Add({{"route", route}}).Increment();
  }
  void mirrorChanged(const std::string& route) {
    mirror_changes_.Add({{"route", route}}).Increment();
  }
  void reloaded(bool success) {
    reloads_.Add({{"result", success ? "success" : "failure"}}).Increment();
  }
  void healthChecked(const std::string& pool, const std::string& backend, bool passed,
                     double seconds);
  void ejected(const std::string& pool, const std::string& backend) {
    ejections_.Add({{"pool", pool}, {"backend", backend}}).Increment();
  }
  // Canary rollouts (proxy/control/rollout_controller): `state` is 1 progressing, 2 paused,
  // 3 succeeded, 4 rolled_back, 5 aborted.
  void rolloutStarted(const std::string& route) {
    rollouts_started_.Add({{"route", route}}).Increment();
  }
  void rolloutAnalysis(const std::string& route, const std::string& result) {
    rollout_analyses_.Add({{"route", route}, {"result", result}}).Increment();
  }
  void rolloutRolledBack(const std::string& route, const std::string& reason) {
    rollout_rollbacks_.Add({{"route", route}, {"reason", reason}}).Increment();
  }
  // The route has no rollout (one that was refused at its first step): its gauges go.
  void rolloutCleared(const std::string& route) {
    const prometheus::Labels labels{{"route", route}};
    rollout_state_.Remove(&rollout_state_.Add(labels));
    rollout_step_.Remove(&rollout_step_.Add(labels));
    rollout_weight_.Remove(&rollout_weight_.Add(labels));
  }
  void rolloutProgress(const std::string& route, int state, uint32_t step, double weight) {
    rollout_state_.Add({{"route", route}}).Set(state);
    rollout_step_.Add({{"route", route}}).Set(step);
    rollout_weight_.Add({{"route", route}}).Set(weight);
  }
  // A rollout webhook call (gate or notify) ended: ok, rejected (non-2xx) or error (no answer).
  void rolloutWebhook(const std::string& route, const std::string& hook,
                      const std::string& result) {
    rollout_webhooks_.Add({{"route", route}, {"hook", hook}, {"result", result}}).Increment();
  }
  prometheus::Registry& registry() { return *registry_; }

  // The whole /metrics text: control-plane families, then the data plane's, the process's and
  // `extra` (families the caller builds at scrape time, e.g. fleet mode's).
  std::string render(const DataPlaneView& view,
                     std::vector<prometheus::MetricFamily> extra = {}) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& switches_;
  prometheus::Family<prometheus::Counter>& rollbacks_;
  prometheus::Family<prometheus::Counter>& promotions_;
  prometheus::Family<prometheus::Counter>& canary_changes_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Counter>& mirror_changes_;
  prometheus::Family<prometheus::Counter>& health_checks_;
  prometheus::Family<prometheus::Histogram>& health_check_duration_;
  prometheus::Family<prometheus::Counter>& ejections_;
  prometheus::Family<prometheus::Counter>& rollouts_started_;
  prometheus::Family<prometheus::Counter>& rollout_analyses_;
  prometheus::Family<prometheus::Counter>& rollout_rollbacks_;
  prometheus::Family<prometheus::Gauge>& rollout_state_;
  prometheus::Family<prometheus::Gauge>& rollout_step_;
  prometheus::Family<prometheus::Gauge>& rollout_weight_;
  prometheus::Family<prometheus::Counter>& rollout_webhooks_;
  double start_time_seconds_;
};

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace sy::admin
