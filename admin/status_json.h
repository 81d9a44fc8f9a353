#pragma once

// The JSON of GET /admin/status and of the backend admin answers, built from what the control
// thread holds (configuration, traffic state, backend states, the published snapshot). Pure
// functions: the control thread calls them; nothing here posts or changes state.

#include <cstdint>
#include <string>

#include "health/backend_state_table.h"
#include "nlohmann/json.hpp"
#include "routing/config/model.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::admin {

// Figures of one backend summed over the workers.
struct BackendLoad {
  uint64_t in_flight = 0;
  uint64_t open_connections = 0;
};

// The load of `address` in `pool` as the snapshot's shared stats count it (zero when unknown).
BackendLoad backendLoad(const routing::ConfigSnapshot* snapshot, const std::string& pool,
                        const std::string& address);
// Whether a draining or disabled backend has nothing in flight and no connection open.
bool backendDrained(const routing::ConfigSnapshot* snapshot, const health::BackendRecord& record);
// One backend's state: health, admin state ("drained" once a drain ended), load, last check.
nlohmann::json backendJson(const routing::ConfigSnapshot* snapshot,
                           const health::BackendRecord& record);
// The backends of pool `pool` in `snapshot` as /admin/status lists them: backendJson() plus
// weight, eligibility, idle connections and requests. Empty when the pool is unknown.
nlohmann::json poolBackendsJson(const routing::ConfigSnapshot& snapshot, const std::string& pool,
                                const health::BackendStateTable& backend_states);

// What the status knows about the process itself.
struct ProcessStatus {
  double uptime_seconds = 0;
  std::string config;  // the configuration's name (file path or embedded name)
  uint32_t workers = 0;
  bool ready = false;
};

// The body of GET /admin/status: routes with their traffic state, pools with their backends.
nlohmann::json statusJson(const ProcessStatus& process, const routing::config::Config& config,
                          const routing::TrafficState& traffic,
                          const routing::ConfigSnapshot& snapshot,
                          const health::BackendStateTable& backend_states);

}  // namespace sy::admin
