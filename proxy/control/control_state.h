#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admin/metrics.h"
#include "health/backend_state_table.h"
#include "nlohmann/json.hpp"
#include "proxy/config_source.h"
#include "routing/config/model.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::proxy::control {

// What the parts of the control thread share: the configuration, the runtime traffic and
// backend state, the snapshot last built from them, and the control metrics. Only the control
// thread touches it; the workers see the published snapshots.
struct ControlState {
  explicit ControlState(ConfigSource config_source) : source(std::move(config_source)) {}

  ConfigSource source;
  std::shared_ptr<const routing::config::Config> config;
  routing::SnapshotBuilder builder;
  routing::ConfigSnapshotPtr snapshot;
  routing::TrafficState traffic;
  health::BackendStateTable backend_states;
  admin::ControlMetrics metrics;
  uint32_t worker_count = 0;
  bool shutting_down = false;
  absl::Time started_at = absl::Now();
  // The rollouts' part of the state file: written by the rollout controller, read back at start.
  std::function<nlohmann::json()> rollouts_json;
  nlohmann::json saved_rollouts;

  // Builds the snapshot of the current configuration, traffic and backend state (it still has
  // to be published).
  void rebuildSnapshot() { snapshot = builder.build(config, &traffic, &backend_states); }

  std::vector<std::string> routeNames() const {
    std::vector<std::string> names;
    for (const auto& route : config->routes) names.push_back(route.name);
    return names;
  }
};

}  // namespace sy::proxy::control
