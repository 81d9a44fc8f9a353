#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "admin/control_plane.h"
#include "nlohmann/json.hpp"
#include "proxy/control/control_state.h"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/publisher.h"

namespace sy::proxy::control {

// The route verbs of the admin API: switch, rollback, canary, promote, mirror. Each changes the
// traffic state, publishes a new snapshot, and answers once every worker routes by it; the state
// file follows. After a change, the idle backend connections of pools left without traffic are
// closed (after server.switch_drain_delay). Control thread only.
class TrafficControl {
 public:
  TrafficControl(ControlState& state, Publisher& publisher);
  TrafficControl(const TrafficControl&) = delete;
  TrafficControl& operator=(const TrafficControl&) = delete;

  // Who asks for a change: an operator (the admin API) or a running rollout. While a rollout
  // runs on a route, an operator's switch, rollback, canary or promote answers 409: the rollout
  // would undo it at its next step. The operator aborts the rollout first.
  enum class Origin { kOperator, kRollout };
  void setRolloutGuard(std::function<bool(const std::string& route)> rollout_running) {
    rollout_running_ = std::move(rollout_running);
  }

  // Fleet mode: a change goes through etcd (fleet_sync.h) unless its scope is local.
  void setFleet(FleetSync* fleet) { fleet_ = fleet; }

  void start(uv_loop_t* loop);
  // Closes the timer; the loop must run once more to finish the close.
  void close();

  // `scope`: see admin::ChangeScope (fleet mode).
  void switchPool(const std::string& route, const std::string& pool, bool force,
                  const admin::ChangeScope& scope, admin::Responder respond,
                  Origin origin = Origin::kOperator);
  void rollback(const std::string& route, const admin::ChangeScope& scope, admin::Responder respond,
                Origin origin = Origin::kOperator);
  void setCanary(const std::string& route, const std::string& pool, double weight,
                 const admin::ChangeScope& scope, admin::Responder respond,
                 Origin origin = Origin::kOperator);
  void promote(const std::string& route, const admin::ChangeScope& scope, admin::Responder respond,
               Origin origin = Origin::kOperator);
  void setMirror(const std::string& route, const std::string& pool, double percent,
                 const admin::ChangeScope& scope, admin::Responder respond);

 private:
  // Publishes the current traffic state; `respond` gets `body` plus the generation once every
  // worker adopted it. `event` names the change in the log.
  void applyChange(const char* event, const std::string& route, nlohmann::json body,
                   const admin::ChangeScope& scope, admin::Responder respond);
  // What every verb checks first; answers and returns true when it may not run now: 503 while
  // shutting down, 409 when `rollout_locks` and the route runs a rollout.
  bool refusedNow(const std::string& route, admin::Responder& respond, bool rollout_locks) const;
  // Whether `pool` has a backend that may take traffic (not in panic).
  bool poolHasHealthyBackend(const std::string& pool) const;
  void scheduleSwitchDrain();
  void closeIdleOfUnusedPools();

  ControlState& state_;
  Publisher& publisher_;
  std::function<bool(const std::string&)> rollout_running_;
  FleetSync* fleet_ = nullptr;
  uv_timer_t switch_drain_timer_{};
  bool started_ = false;
};

}  // namespace sy::proxy::control
