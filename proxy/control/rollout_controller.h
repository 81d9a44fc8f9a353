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
  // route already runs a rollout.
  void create(const nlohmann::json& body, const std::string& default_route,
              admin::Responder respond);
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
  // Carries out `action` for `entry` (one publish); `respond`, when set, answers after it.
  void apply(Entry& entry, const RolloutAction& action, const char* event,
             admin::Responder respond);
  bool readPool(const std::string& route, const std::string& pool, PoolReading* reading) const;
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

  ControlState& state_;
  TrafficControl& traffic_;
  uv_loop_t* loop_ = nullptr;
  WebhookClient webhooks_;
  uint64_t next_id_ = 1;
  std::map<std::string, std::unique_ptr<Entry>> rollouts_;  // by route
};

}  // namespace sy::proxy::control
