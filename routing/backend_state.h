#pragma once

#include <cstdint>
#include <string_view>

namespace sy::routing {

// What the active checks say about a backend.
enum class HealthState {
  kUnchecked,  // the pool has no health check: the backend counts as healthy
  kUnknown,    // checked, but no verdict yet (new backend)
  kHealthy,
  kUnhealthy,
};

// What operators said about a backend, independent of its health.
enum class AdminState {
  kReady,     // takes new requests (when healthy)
  kDraining,  // no new requests; in-flight ones finish; still health-checked
  kDisabled,  // maintenance: no new requests, no health checks
};

const char* healthStateName(HealthState state);
const char* adminStateName(AdminState state);

struct BackendRuntime {
  HealthState health = HealthState::kUnchecked;
  AdminState admin = AdminState::kReady;
  bool ejected = false;         // passive outlier detection took it out for a while
  bool awaiting_check = false;  // unknown after maintenance: no traffic before a check ran
};

// The runtime state of backends, as the snapshot builder reads it (control thread). Keyed by
// pool name and backend address as written in the configuration.
class BackendStateView {
 public:
  virtual ~BackendStateView() = default;
  virtual BackendRuntime stateOf(std::string_view pool, std::string_view address) const = 0;
  // Changes whenever the state of a backend of `pool` changes: the builder rebuilds only the
  // pools whose version moved.
  virtual uint64_t poolVersion(std::string_view pool) const = 0;
};

}  // namespace sy::routing
