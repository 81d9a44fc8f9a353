#pragma once

// Runs the canary rollouts (issue 13): one Rollout state machine per route, fed an analysis
// window every `interval` from the workers' own per-(route, pool) counters, its decisions
// carried out through TrafficControl (one publish each). Also the admin calls that start,
// show and steer rollouts, and their part of the state file. The webhooks (gate asked before
// each advance, notify told of each change) are in rollout_controller_hooks.cc. Control thread
// only.

#include <uv.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "admin/control_plane.h"
#include "core/uv_handle.h"
#include "nlohmann/json.hpp"
#include "proxy/control/control_state.h"
#include "proxy/control/fleet_figures.h"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/rollout.h"
#include "proxy/control/traffic_control.h"
#include "proxy/control/webhook_client.h"

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
  // route already runs a rollout. `scope` is the first step's (POST /admin/switch?verify=
  // passes the switch's local=1 or wait=all on); the later steps have none.
  void create(const nlohmann::json& body, const std::string& default_route,
              const admin::ChangeScope& scope, admin::Responder respond);
  // GET /admin/rollouts (route empty: every rollout) and /admin/rollouts/ROUTE (404 if none).
  void show(const std::string& route, admin::Responder respond) const;
  // POST /admin/rollouts/ROUTE/{pause,resume,abort,promote,skip}.
  void command(const std::string& route, const std::string& verb, admin::Responder respond);

  // Starts the rollouts the configuration declares ([[rollouts]]), each unless its route runs
  // another rollout or already ran this same spec (saved in the state file), or its pool is
  // the active one already. At start once the workers run, and after each reload
  // (rollout_declarations.cc).
  void startDeclared();
  // After a reload: ends, as aborted, each running rollout whose route or canary pool the new
  // file removed, or whose traffic the reload gave back to the file (the route's `pool` or
  // `canary` edited there wins over runtime changes). The reload already moved the traffic, so
  // nothing is published; the end is logged, counted, saved and notified as any other.
  void endOrphaned();

  // Whether a rollout is running (progressing or paused) on `route`: manual route verbs then
  // answer 409.
  bool running(const std::string& route) const;
  // The rollouts for the state file (running and finished).
  nlohmann::json toJson() const;

  // Fleet mode (rollout_controller_fleet.cc): the rollouts are part of the fleet's state
  // (PREFIX/state "rollouts"), every change to them goes through its CAS with the traffic
  // change it makes, and only the elected leader runs their analysis, from the figures of the
  // whole fleet. The other instances keep the stored rollouts as they are (for GET
  // /admin/rollouts, the 409 of manual verbs, and to take over), and a rollout started or
  // steered on any of them is stored there for the leader to take up.
  void setFleet(FleetSync* fleet, FleetFigures* figures) {
    fleet_ = fleet;
    figures_ = figures;
  }
  // The election's verdict: the leader runs the windows of every running rollout.
  void setLeading(bool leading);
  // The rollouts as stored in etcd: toJson without the windows and webhook calls.
  nlohmann::json fleetJson() const;
  // PREFIX/state changed to `stored` (its "rollouts", null when it has none) at `revision`.
  void onFleetState(const nlohmann::json& stored, int64_t revision);
  // This instance's own figures of the pools the running rollouts compare, for the others.
  FleetFigures::Readings localFigures() const;
  // How often to publish them: half the shortest analysis interval running, 0 when none.
  uint64_t figuresPeriodMs() const;

 private:
  struct Entry {
    Entry(RolloutController& owner, Rollout started, uint64_t serial)
        : controller(owner), rollout(std::move(started)), id(serial) {}

    RolloutController& controller;
    Rollout rollout;
    uint64_t id;                       // tells this rollout from a later one on the same route
    core::UvHandle<uv_timer_t> timer;  // set while the rollout runs
    PoolReading canary_before;
    PoolReading baseline_before;
    // The notifications not yet delivered, oldest first: sent one at a time, so in order.
    std::deque<nlohmann::json> notify_queue;
    bool notify_busy = false;
    std::optional<std::pair<RolloutPhase, uint32_t>> notified;  // the last state told
  };

  Entry& add(Rollout rollout);
  // The entry of rollout `id` on `route`, if it is still there.
  Entry* find(const std::string& route, uint64_t id);
  void onTimer(Entry& entry);
  // Carries out `action` for `entry` (one publish) in `scope`; `respond`, when set, answers
  // after it.
  void apply(Entry& entry, const RolloutAction& action, const char* event,
             const admin::ChangeScope& scope, admin::Responder respond);
  // This instance's workers' figures, plus the fleet's others' (fleet mode).
  bool readPool(const std::string& route, const std::string& pool, PoolReading* reading) const;
  bool readLocalPool(const std::string& route, const std::string& pool, PoolReading* reading) const;
  void startTimer(Entry& entry);
  void stopTimer(Entry& entry);
  void updateGauges(const Rollout& rollout);
  uint64_t nowMs() const;

  // rollout_controller_hooks.cc
  void askGate(Entry& entry);
  void onGateAnswer(const std::string& route, uint64_t id, uint64_t ticket,
                    const WebhookOutcome& outcome);
  // Queues a notification when the rollout's state or step changed since the last one told.
  void notify(Entry& entry, const char* event);
  void sendNextNotification(Entry& entry);
  void recordCall(Entry& entry, const char* hook, const WebhookOutcome& outcome,
                  std::string detail);

  // rollout_controller_fleet.cc
  bool fleetMode() const { return fleet_ != nullptr && fleet_->enabled(); }
  // Replaces the rollouts that differ from the fleet's stored ones.
  void adoptFleet(const nlohmann::json& stored);
  // A change this instance wrote to the fleet's state ended with `reply`.
  void fleetWriteDone(const admin::Reply& reply);

  ControlState& state_;
  TrafficControl& traffic_;
  FleetSync* fleet_ = nullptr;
  FleetFigures* figures_ = nullptr;
  bool leading_ = true;  // without [fleet], every instance runs its own rollouts
  int writes_in_flight_ = 0;
  bool resync_after_writes_ = false;
  int64_t own_revision_ = 0;     // of this instance's latest change to the fleet's state
  nlohmann::json stored_;        // the fleet's latest stored rollouts
  int64_t stored_revision_ = 0;  // and their revision
  uv_loop_t* loop_ = nullptr;
  WebhookClient webhooks_;
  uint64_t next_id_ = 1;
  std::map<std::string, std::unique_ptr<Entry>> rollouts_;  // by route
};

}  // namespace sy::proxy::control
