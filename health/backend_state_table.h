#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "core/strings.h"
#include "health/hysteresis.h"
#include "nlohmann/json.hpp"
#include "routing/backend_state.h"
#include "routing/config/model.h"

namespace sy::health {

// Everything the control thread knows about one configured backend beyond its configuration.
struct BackendRecord {
  std::string pool;
  std::string address;
  routing::HealthState health = routing::HealthState::kUnchecked;
  routing::AdminState admin = routing::AdminState::kReady;
  // Back from maintenance: its health from before is stale, so no traffic until a check ran,
  // whatever traffic_before_first_check says.
  bool awaiting_check = false;
  // Active checks.
  CheckCounters counters;
  absl::Time last_check = absl::InfinitePast();
  std::string last_error;
  double last_check_ms = 0;
  uint64_t checks_passed = 0;
  uint64_t checks_failed = 0;
  // Passive outlier detection.
  bool ejected = false;
  uint32_t ejections = 0;  // in a row, for the growing ejection time
  absl::Time ejected_until = absl::InfinitePast();
  absl::Time returned_at = absl::InfinitePast();
};

// The runtime state of every configured backend (health, admin state, ejection), keyed by pool
// name and address. The snapshot builder reads it through routing::BackendStateView. Control
// thread only.
class BackendStateTable final : public routing::BackendStateView {
 public:
  // Follows `config`: new backends start `unknown` (or `unchecked` in a pool without health
  // check), backends that left are forgotten, the others keep their state. A pool whose health
  // check appears or disappears starts its backends over.
  void reconcile(const routing::config::Config& config);

  BackendRecord* find(std::string_view pool, std::string_view address);
  const BackendRecord* find(std::string_view pool, std::string_view address) const;
  std::vector<BackendRecord*> poolBackends(std::string_view pool);
  template <class F>
  void forEach(F&& visit) {
    for (auto& [key, record] : records_) visit(record);
  }
  bool hasPool(std::string_view pool) const;
  // Something about a backend of `pool` changed: snapshots must rebuild it.
  void touch(std::string_view pool);

  routing::BackendRuntime stateOf(std::string_view pool, std::string_view address) const override;
  uint64_t poolVersion(std::string_view pool) const override;

  // Admin states for the state file: {"pool": {"address": "draining"}} (ready ones omitted).
  nlohmann::json adminStatesJson() const;
  // Applies admin states from the state file to the backends that still exist.
  void restoreAdminStates(const nlohmann::json& states);

 private:
  static std::string key(std::string_view pool, std::string_view address);

  core::StringMap<BackendRecord> records_;
  core::StringMap<uint64_t> versions_;
  core::StringMap<bool> pool_checked_;
  uint64_t next_version_ = 1;
};

}  // namespace sy::health
