#pragma once

#include <cstdint>

#include "routing/backend_state.h"

namespace sy::health {

struct CheckCounters {
  uint32_t successes = 0;  // consecutive passes
  uint32_t failures = 0;   // consecutive failures
};

// The health state after one check result (HAProxy's rise/fall):
// - unknown (no verdict yet): the first result decides, pass -> healthy, fail -> unhealthy;
// - healthy: `fall` consecutive failures make it unhealthy;
// - unhealthy: `rise` consecutive passes make it healthy.
// Pure; `counters` is updated.
routing::HealthState nextHealth(routing::HealthState current, bool passed, CheckCounters& counters,
                                uint32_t rise, uint32_t fall);

}  // namespace sy::health
