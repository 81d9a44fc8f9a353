#pragma once

// Fleet mode's automated rollouts (issue 21), wired together: the rollouts stored in the
// fleet's state (PREFIX/state "rollouts"), the leader election (fleet_election.h) that decides
// which instance runs their windows, and the figures every instance publishes for the leader
// to add up (fleet_figures.h). Without [fleet] it does nothing and rollouts run per instance.

#include <uv.h>

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "prometheus/metric_family.h"
#include "proxy/control/fleet_election.h"
#include "proxy/control/fleet_figures.h"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/rollout_controller.h"

namespace sy::proxy::control {

class FleetRollouts {
 public:
  FleetRollouts(FleetSync& fleet, RolloutController& rollouts);
  FleetRollouts(const FleetRollouts&) = delete;
  FleetRollouts& operator=(const FleetRollouts&) = delete;

  // After FleetSync::start and RolloutController::start.
  void start(uv_loop_t* loop);
  void close();
  // Adds the leader and the figures' sources to the "fleet" object of /admin/status.
  void addStatus(nlohmann::json& fleet) const;
  // The switchyard_fleet_leader family of /metrics.
  void collectMetrics(std::vector<prometheus::MetricFamily>* out) const;

 private:
  FleetSync& fleet_;
  RolloutController& rollouts_;
  FleetElection election_;
  FleetFigures figures_;
};

}  // namespace sy::proxy::control
