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
#include "routing/backend_overlay.h"
#include "routing/config/model.h"
#include "routing/followed_backends.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::proxy::control {

// What the parts of the control thread share: the configuration, the runtime traffic and
// backend state, the snapshot last built from them, and the control metrics. Only the control
// thread touches it; the workers see the published snapshots.
struct ControlState {
  explicit ControlState(ConfigSource config_source) : source(std::move(config_source)) {}

  ConfigSource source;
  // The configuration in force: the file's (file_config) with the runtime backend changes
  // (backend_overlay) in place of its pools' backend lists.
  std::shared_ptr<const routing::config::Config> config;
  std::shared_ptr<const routing::config::Config> file_config;
  routing::BackendOverlay backend_overlay;
  // What the names of the pools that follow DNS resolve to (proxy/control/dns_follower.h).
  routing::FollowedBackends followed;
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

  // Adopts `file` as the file's configuration and sets `config` from it, the runtime backend
  // changes and the addresses of the names followed in DNS; returns one line per pool whose changes
  // the file overrode, for the log.
  std::vector<std::string> adoptFile(std::shared_ptr<const routing::config::Config> file) {
    file_config = std::move(file);
    return applyBackendOverlay();
  }
  std::vector<std::string> applyBackendOverlay() {
    std::vector<std::string> notes;
    config = backend_overlay.empty() ? file_config : backend_overlay.apply(*file_config, &notes);
    if (!followed.empty()) config = routing::expandFollowedBackends(*config, followed);
    return notes;
  }

  std::vector<std::string> routeNames() const {
    std::vector<std::string> names;
    for (const auto& route : config->routes) {
      // A route that answers itself (redirect, respond) has no pool to switch or roll out: it
      // is not one the admin API picks when the request names no route.
      if (!route.answersLocally()) names.push_back(route.name);
    }
    return names;
  }
};

}  // namespace sy::proxy::control
