#pragma once

// server.state_file: the runtime traffic state (active pools, canaries, mirrors), the backend
// admin states and the rollouts, written after every change so that a restart comes back as it
// left.

#include "proxy/control/control_state.h"

namespace sy::proxy::control {

// Reads the state file, if configured, into `state` (after the configuration is loaded and the
// traffic state reconciled with it). A missing file is the first start; an unreadable or stale
// one is logged and ignored.
void restoreState(ControlState& state);
// Writes the state file, if configured; a failed write is logged (the change still holds).
void saveState(const ControlState& state);

}  // namespace sy::proxy::control
