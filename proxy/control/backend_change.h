#pragma once

// One way to adopt a change to a pool's backends, whoever made it (the admin API through
// proxy/control/backend_set.h, DNS through proxy/control/dns_follower.h), so both hold a new
// backend back until its first check in the same way. Control thread only.

#include <string>
#include <vector>

#include "proxy/control/control_state.h"
#include "proxy/control/health_wiring.h"

namespace sy::proxy::control {

// Rebuilds the configuration in force from the file, the runtime backend changes and the names
// followed in DNS (logging the changes the file overrode), reconciles the backend states, marks
// each backend of `added` that was never checked as awaiting its first check (a checked pool
// sends it nothing before then, whatever traffic_before_first_check says: that is about a start,
// when every backend is new), reconfigures the health checks and rebuilds the snapshot. The
// caller publishes it, then asks checkNow for the returned addresses (those awaiting a check).
std::vector<std::string> adoptBackendChange(ControlState& state, HealthWiring& health,
                                            const std::string& pool,
                                            const std::vector<std::string>& added);

}  // namespace sy::proxy::control
