#include "health/hysteresis.h"

namespace sy::health {

using routing::HealthState;

HealthState nextHealth(HealthState current, bool passed, CheckCounters& counters, uint32_t rise,
                       uint32_t fall) {
  if (passed) {
    ++counters.successes;
    counters.failures = 0;
  } else {
    ++counters.failures;
    counters.successes = 0;
  }
  switch (current) {
    case HealthState::kUnchecked:
    case HealthState::kUnknown:
      return passed ? HealthState::kHealthy : HealthState::kUnhealthy;
    case HealthState::kHealthy:
      return counters.failures >= fall ? HealthState::kUnhealthy : HealthState::kHealthy;
    case HealthState::kUnhealthy:
      return counters.successes >= rise ? HealthState::kHealthy : HealthState::kUnhealthy;
  }
  return current;
}

}  // namespace sy::health
