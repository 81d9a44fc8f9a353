#pragma once

// The admin API's run-time changes to a pool's set of backends (issue 20): add one, re-weight
// one, remove one after draining it. Each change is one snapshot publish acked by every worker,
// kept in the state file, and overridden by the file only when the pool's `backends` change
// there (routing/backend_overlay.h). Control thread only.

#include <string>

#include "absl/time/time.h"
#include "admin/control_plane.h"
#include "nlohmann/json.hpp"
#include "proxy/control/backend_admin.h"
#include "proxy/control/control_state.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/publisher.h"

namespace sy::proxy::control {

class BackendSet {
 public:
  BackendSet(ControlState& state, Publisher& publisher, HealthWiring& health,
             BackendAdmin& backend_admin)
      : state_(state), publisher_(publisher), health_(health), backend_admin_(backend_admin) {}

  // POST /admin/pools/POOL/backends {"address": "IP:PORT", "weight": N}: 201 once every worker
  // has it. In a pool with health checks it takes traffic only after its first passing check.
  void add(const std::string& pool, const nlohmann::json& body, admin::Responder respond);
  // PATCH /admin/pools/POOL/backends/ADDRESS {"weight": N}.
  void reweight(const std::string& pool, const std::string& address, const nlohmann::json& body,
                admin::Responder respond);
  // DELETE /admin/pools/POOL/backends/ADDRESS: drained first (no new requests; up to `wait`
  // for those in flight), then removed. Refused (409) when it is the last backend taking
  // traffic in a pool a route sends to, unless `force`.
  void remove(const std::string& pool, const std::string& address, absl::Duration wait, bool force,
              admin::Responder respond);

 private:
  // Rebuilds `config` from the overlay, reconciles the health checks and publishes; `respond`
  // gets `status` and `body` (plus the pool's backends) once every worker runs it. `added`, if
  // any, is a backend just added.
  void publishChange(const std::string& pool, int status, nlohmann::json body,
                     admin::Responder respond, const std::string& added = "");
  // A pool that follows DNS takes its backends from there: 409 (true) for the admin API.
  bool refuseFollowedPool(const std::string& pool, admin::Responder& respond) const;
  // Whether a route sends traffic to `pool` (its active pool, or a canary or mirror share).
  bool poolInUse(const std::string& pool) const;

  ControlState& state_;
  Publisher& publisher_;
  HealthWiring& health_;
  BackendAdmin& backend_admin_;
};

}  // namespace sy::proxy::control
