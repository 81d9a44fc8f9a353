#include "proxy/control/state_file.h"

#include "absl/status/status.h"
#include "core/atomic_file.h"
#include "core/log.h"

namespace sy::proxy::control {

void applyStateJson(ControlState& state, nlohmann::json& saved, const std::string& from) {
  if (saved.is_object() && saved.contains("backends")) {
    state.backend_states.restoreAdminStates(saved["backends"]);
  }
  if (saved.is_object() && saved.contains("pool_backends")) {
    if (absl::Status backends = state.backend_overlay.restore(saved["pool_backends"]);
        !backends.ok()) {
      core::logWarn(
          "state_file_ignored",
          {{"state_file", from}, {"part", "pool_backends"}, {"error", backends.message()}});
    }
  }
  if (saved.is_object() && saved.contains("rollouts")) {
    state.saved_rollouts = saved["rollouts"];
  }
  auto restored = state.traffic.restore(saved, *state.config);
  if (restored.ok()) {
    if (!restored->empty()) {
      core::logInfo("state_restored", {{"state_file", from}, {"routes", *restored}});
    }
  } else {
    core::logWarn("state_file_ignored",
                  {{"state_file", from}, {"error", restored.status().message()}});
  }
}

void restoreState(ControlState& state) {
  const std::string& path = state.config->server.state_file;
  if (path.empty()) return;
  auto saved = routing::TrafficState::readFile(path);
  if (saved.ok()) {
    applyStateJson(state, *saved, path);
  } else if (saved.status().code() != absl::StatusCode::kNotFound) {
    core::logWarn("state_file_ignored",
                  {{"state_file", path}, {"error", saved.status().message()}});
  }
}

nlohmann::json stateJson(const ControlState& state) {
  nlohmann::json json = state.traffic.toJson();
  json["backends"] = state.backend_states.adminStatesJson();
  if (!state.backend_overlay.empty()) json["pool_backends"] = state.backend_overlay.toJson();
  if (state.rollouts_json) json["rollouts"] = state.rollouts_json();
  return json;
}

void saveState(const ControlState& state) {
  const std::string& path = state.config->server.state_file;
  if (path.empty()) return;
  const absl::Status saved = core::writeFileAtomically(path, stateJson(state).dump(2) + "\n");
  if (!saved.ok()) {
    core::logError("state_file_write_failed", {{"state_file", path}, {"error", saved.message()}});
  }
}

}  // namespace sy::proxy::control
