#include "proxy/control/fleet_backends.h"

#include "absl/strings/str_cat.h"
#include "proxy/control/backend_admin.h"

namespace sy::proxy::control {
namespace {

bool adminStateNamed(const nlohmann::json& value, routing::AdminState* state) {
  if (!value.is_string()) return false;
  const std::string name = value.get<std::string>();
  if (name == "draining") {
    *state = routing::AdminState::kDraining;
  } else if (name == "disabled") {
    *state = routing::AdminState::kDisabled;
  } else if (name == "ready") {
    *state = routing::AdminState::kReady;
  } else {
    return false;
  }
  return true;
}

}  // namespace

nlohmann::json fleetBackendsJson(const health::BackendStateTable& table) {
  return table.adminStatesJson();
}

nlohmann::json withBackendAdminState(nlohmann::json backends, const std::string& pool,
                                     const std::string& address, routing::AdminState state) {
  if (!backends.is_object()) backends = nlohmann::json::object();
  if (state == routing::AdminState::kReady) {
    if (backends.contains(pool) && backends[pool].is_object()) {
      backends[pool].erase(address);
      if (backends[pool].empty()) backends.erase(pool);
    }
  } else {
    backends[pool][address] = routing::adminStateName(state);
  }
  return backends;
}

absl::Status validateFleetBackends(const nlohmann::json& backends,
                                   const health::BackendStateTable& table) {
  if (!backends.is_object()) {
    return absl::InvalidArgumentError("\"backends\" is not an object of pools");
  }
  for (const auto& [pool, states] : backends.items()) {
    if (!states.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"backends\" of pool \"", pool, "\" is not an object of backends"));
    }
    if (!table.hasPool(pool)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the backends' admin states name pool \"", pool,
                       "\" which this instance's configuration lacks"));
    }
    for (const auto& [address, state] : states.items()) {
      routing::AdminState parsed;
      if (!adminStateNamed(state, &parsed)) {
        return absl::InvalidArgumentError(absl::StrCat("backend \"", address, "\" of pool \"", pool,
                                                       "\": unknown admin state ", state.dump()));
      }
      if (table.find(pool, address) == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat("pool \"", pool, "\" has no backend \"",
                                                          address, "\" (", state.get<std::string>(),
                                                          ") in this instance's configuration"));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> applyFleetBackends(
    const nlohmann::json& backends, health::BackendStateTable& table, bool* changed) {
  std::vector<std::pair<std::string, std::string>> to_recheck;
  std::vector<std::string> changed_pools;
  table.forEach([&](health::BackendRecord& record) {
    routing::AdminState wanted = routing::AdminState::kReady;
    const auto pool = backends.find(record.pool);
    if (pool != backends.end() && pool->is_object()) {
      const auto state = pool->find(record.address);
      if (state != pool->end()) adminStateNamed(*state, &wanted);
    }
    if (record.admin == wanted) return;
    if (setBackendAdminState(record, wanted)) to_recheck.emplace_back(record.pool, record.address);
    changed_pools.push_back(record.pool);
  });
  for (const std::string& pool : changed_pools) table.touch(pool);
  *changed = !changed_pools.empty();
  return to_recheck;
}

}  // namespace sy::proxy::control
