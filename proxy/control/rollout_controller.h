#pragma once

// Runs the canary rollouts (issue 13): one Rollout state machine per route, fed an analysis
// window every `interval` from the workers' own per-(route, pool) counters, its decisions
// carried out through TrafficControl (one publish each). Also the admin calls that start,
// show and steer rollouts, and their part of the state file. Control thread only.

#include <uv.h>

#include <map>
#include <memory>
#include <string>

#include "admin/control_plane.h"
#include "nlohmann/json.hpp"
#include "proxy/control/control_state.h"
#include "proxy/control/rollout.h"
#include "proxy/control/traffic_control.h"

namespace sy::proxy::control {

class RolloutController {
 public:
  RolloutController(ControlState& state, TrafficControl& traffic);
  ~RolloutController();
  RolloutController(const RolloutController&) = delete;
  RolloutController& operator=(const RolloutController&) = delete;

  // Starts the loop's timers and resumes the rollouts the state file saved.
  void start(uv_loop_t* loop, const nlohmann::json& saved);
  // Closes every timer; the loop must run once more to finish the closes.
  void close();

  // POST /admin/rollouts: 201 with the rollout once its first weight is published; 400 for a
  // bad body, 404 for an unknown route or pool, 409 when the pool is the active one or the
  // route already runs a rollout.
  void create(const nlohmann::json& body, const std::string& default_route,
              admin::Responder respond);
  // GET /admin/rollouts (route empty: every rollout) and /admin/rollouts/ROUTE (404 if none).
  void show(const std::string& route, admin::Responder respond) const;
  // POST /admin/rollouts/ROUTE/{pause,resume,abort,promote,skip}.
  void command(const std::string& route, const std::string& verb, admin::Responder respond);

  // Whether a rollout is running (progressing or paused) on `route`: manual route verbs then
  // answer 409.
  bool running(const std::string& route) const;
  // The rollouts for the state file (running and finished).
  nlohmann::json toJson() const;

 private:
  struct Entry;

  void onTimer(Entry& entry);
  // Carries out `action` for `entry` (one publish); `respond`, when set, answers after it.
  void apply(Entry& entry, const RolloutAction& action, const char* event,
             admin::Responder respond);
  bool readPool(const std::string& route, const std::string& pool, PoolReading* reading) const;
  void startTimer(Entry& entry);
  void stopTimer(Entry& entry);
  void updateGauges(const Rollout& rollout);
  uint64_t nowMs() const;

  ControlState& state_;
  TrafficControl& traffic_;
  uv_loop_t* loop_ = nullptr;
  std::map<std::string, std::unique_ptr<Entry>> rollouts_;  // by route
};

}  // namespace sy::proxy::control
