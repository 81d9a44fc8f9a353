#include "proxy/control/backend_change.h"

#include "core/log.h"

namespace sy::proxy::control {

std::vector<std::string> adoptBackendChange(ControlState& state, HealthWiring& health,
                                            const std::string& pool,
                                            const std::vector<std::string>& added) {
  for (const std::string& note : state.applyBackendOverlay()) {
    core::logWarn("backend_changes_dropped", {{"detail", note}});
  }
  state.backend_states.reconcile(*state.config);
  std::vector<std::string> awaiting_check;
  for (const std::string& address : added) {
    health::BackendRecord* record = state.backend_states.find(pool, address);
    if (record != nullptr && record->health == routing::HealthState::kUnknown) {
      record->awaiting_check = true;
      state.backend_states.touch(pool);
      awaiting_check.push_back(address);
    }
  }
  health.configure(*state.config);
  state.rebuildSnapshot();
  return awaiting_check;
}

}  // namespace sy::proxy::control
