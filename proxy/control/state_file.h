#pragma once

// server.state_file: the runtime traffic state (active pools, canaries, mirrors), the backend
// admin states and the rollouts, written after every change so that a restart comes back as it
// left. The same JSON carries the state to the new process of a hot upgrade
// (proxy/control/upgrade.h).

#include <string>

#include "nlohmann/json.hpp"
#include "proxy/control/control_state.h"

namespace sy::proxy::control {

// Reads the state file, if configured, into `state` (after the configuration is loaded and the
// traffic state reconciled with it). A missing file is the first start; an unreadable or stale
// one is logged and ignored.
void restoreState(ControlState& state);
// Writes the state file, if configured; a failed write is logged (the change still holds).
void saveState(const ControlState& state);

// The state as the state file holds it.
nlohmann::json stateJson(const ControlState& state);
// Applies `saved` (what stateJson returned, here or in another process) as restoreState does;
// `from` names where it came from in the log.
void applyStateJson(ControlState& state, nlohmann::json& saved, const std::string& from);

}  // namespace sy::proxy::control
