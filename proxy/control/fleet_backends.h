#pragma once

// The backends' part of the fleet state (fleet mode, issue 21): the admin state of every backend
// (drain, disable, enable) is shared by the fleet like the traffic state.
//
// Layout: the "backends" object of PREFIX/state, {"POOL": {"ADDRESS": "draining"|"disabled"}},
// ready backends left out (the same shape as the state file's "backends"). One key rather than
// PREFIX/backends/POOL/ADDRESS: one compare-and-swap on one mod_revision covers every change,
// so a drain racing a switch gets the same 409 as two switches, every instance applies a
// traffic change and a drain in one snapshot (no window where the fleet routes by a switch but
// not by the drain that went with it), and ?wait=all compares one applied revision per
// instance. The state stays small (only the backends not ready are listed).
//
// A state without "backends" (written before backends were shared) leaves this instance's admin
// states as they are. Control thread only.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "health/backend_state_table.h"
#include "nlohmann/json.hpp"
#include "routing/backend_state.h"

namespace sy::proxy::control {

// {"POOL": {"ADDRESS": "draining"|"disabled"}} of `table`.
nlohmann::json fleetBackendsJson(const health::BackendStateTable& table);

// `backends` with the admin state of (`pool`, `address`) set to `state` (ready: left out).
nlohmann::json withBackendAdminState(nlohmann::json backends, const std::string& pool,
                                     const std::string& address, routing::AdminState state);

// OK when every pool and backend `backends` names is one of `table`'s, with a known state;
// otherwise says which one this instance's configuration lacks.
absl::Status validateFleetBackends(const nlohmann::json& backends,
                                   const health::BackendStateTable& table);

// Gives every backend of `table` the admin state `backends` says (absent: ready). Returns the
// backends back from maintenance, to check now (pool, address), and sets `*changed`.
std::vector<std::pair<std::string, std::string>> applyFleetBackends(
    const nlohmann::json& backends, health::BackendStateTable& table, bool* changed);

}  // namespace sy::proxy::control
