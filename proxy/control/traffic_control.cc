#include "proxy/control/traffic_control.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {

TrafficControl::TrafficControl(ControlState& state, Publisher& publisher)
    : state_(state), publisher_(publisher) {}

void TrafficControl::start(uv_loop_t* loop) {
  uv_timer_init(loop, &switch_drain_timer_);
  switch_drain_timer_.data = this;
  started_ = true;
}

void TrafficControl::close() {
  if (!started_) return;
  started_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&switch_drain_timer_), nullptr);
}

void TrafficControl::applyChange(const char* event, const std::string& route, nlohmann::json body,
                                 const admin::ChangeScope& scope, admin::Responder respond) {
  if (fleet_ != nullptr && fleet_->enabled()) {
    if (!scope.local) {
      fleet_->change(event, route, std::move(body), scope.wait_all, std::move(respond));
      scheduleSwitchDrain();
      return;
    }
    fleet_->changedLocally();
    body["local"] = true;
  }
  state_.rebuildSnapshot();
  const uint64_t generation = state_.snapshot->generation;
  body["route"] = route;
  body["generation"] = generation;
  nlohmann::json log_fields = body;
  publisher_.publish(state_.snapshot, [respond = std::move(respond), body = std::move(body)](
                                          const absl::Status& published) mutable {
    if (!published.ok()) return respond(publishFailureReply(published));
    respond(admin::jsonReply(200, std::move(body)));
  });
  core::logInfo(event, log_fields);
  saveState(state_);
  scheduleSwitchDrain();
}

bool TrafficControl::refusedNow(const std::string& route, admin::Responder& respond,
                                bool rollout_locks) const {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) {
    respond(admin::errorReply(503, "shutting down"));
    return true;
  }
  if (!rollout_locks || !rollout_running_ || !rollout_running_(route)) return false;
  respond(admin::errorReply(
      409,
      absl::StrCat("route \"", route, "\" runs a rollout; abort it first (POST /admin/rollouts/",
                   route, "/abort) or steer it (pause, resume, promote, skip)")));
  return true;
}

void TrafficControl::switchPool(const std::string& route, const std::string& pool, bool force,
                                const admin::ChangeScope& scope, admin::Responder respond,
                                Origin origin) {
  if (refusedNow(route, respond, origin == Origin::kOperator)) return;
  if (!force && state_.config->findPool(pool) != nullptr && state_.traffic.find(route) != nullptr &&
      !poolHasHealthyBackend(pool)) {
    return respond(admin::errorReply(
        409,
        absl::StrCat("pool \"", pool,
                     "\" has no healthy backend ready for traffic; add force=1 to switch anyway")));
  }
  const routing::RouteTraffic* before = state_.traffic.find(route);
  const std::string previous_active = before != nullptr ? before->active : "";
  if (!answerIfRefused(state_.traffic.switchTo(route, pool, *state_.config), respond)) return;
  const routing::RouteTraffic& now = *state_.traffic.find(route);
  if (now.active == previous_active && previous_active == pool &&
      before->previous == now.previous) {
    // Already there: nothing to publish.
    respond(admin::jsonReply(200, {{"route", route},
                                   {"previous", now.previous},
                                   {"active", now.active},
                                   {"generation", state_.snapshot->generation},
                                   {"changed", false}}));
    return;
  }
  state_.metrics.switched(route);
  applyChange("switch", route,
              {{"previous", previous_active}, {"active", now.active}, {"changed", true}}, scope,
              std::move(respond));
}

void TrafficControl::rollback(const std::string& route, const admin::ChangeScope& scope,
                              admin::Responder respond, Origin origin) {
  if (refusedNow(route, respond, origin == Origin::kOperator)) return;
  if (!answerIfRefused(state_.traffic.rollback(route), respond)) return;
  const routing::RouteTraffic& now = *state_.traffic.find(route);
  state_.metrics.rolledBack(route);
  applyChange("rollback", route, {{"previous", now.previous}, {"active", now.active}}, scope,
              std::move(respond));
}

void TrafficControl::setCanary(const std::string& route, const std::string& pool, double weight,
                               const admin::ChangeScope& scope, admin::Responder respond,
                               Origin origin) {
  if (refusedNow(route, respond, origin == Origin::kOperator)) return;
  if (!answerIfRefused(state_.traffic.setCanary(route, pool, weight, *state_.config), respond)) {
    return;
  }
  const routing::RouteTraffic& now = *state_.traffic.find(route);
  state_.metrics.canaryChanged(route);
  applyChange("canary", route,
              {{"active", now.active},
               {"canary_pool", now.canary_pool},
               {"canary_weight", now.canary_weight}},
              scope, std::move(respond));
}

void TrafficControl::promote(const std::string& route, const admin::ChangeScope& scope,
                             admin::Responder respond, Origin origin) {
  if (refusedNow(route, respond, origin == Origin::kOperator)) return;
  if (!answerIfRefused(state_.traffic.promote(route), respond)) return;
  const routing::RouteTraffic& now = *state_.traffic.find(route);
  state_.metrics.promoted(route);
  applyChange("promote", route, {{"previous", now.previous}, {"active", now.active}}, scope,
              std::move(respond));
}

void TrafficControl::setMirror(const std::string& route, const std::string& pool, double percent,
                               const admin::ChangeScope& scope, admin::Responder respond) {
  // Mirroring does not steer the route's traffic: a rollout does not lock it.
  if (refusedNow(route, respond, /*rollout_locks=*/false)) return;
  if (!answerIfRefused(state_.traffic.setMirror(route, pool, percent, *state_.config), respond)) {
    return;
  }
  const routing::RouteTraffic& now = *state_.traffic.find(route);
  state_.metrics.mirrorChanged(route);
  applyChange("mirror", route,
              {{"mirror_pool", now.mirror_pool}, {"mirror_percent", now.mirror_percent}}, scope,
              std::move(respond));
}

bool TrafficControl::poolHasHealthyBackend(const std::string& pool) const {
  const int index = state_.snapshot->poolIndex(pool);
  if (index < 0) return false;
  const upstream::PoolSnapshot& snapshot = *state_.snapshot->pools[static_cast<size_t>(index)];
  return !snapshot.eligible.empty() && !snapshot.panic;
}

void TrafficControl::scheduleSwitchDrain() {
  if (!started_) return;
  const int64_t delay_ms = absl::ToInt64Milliseconds(state_.config->server.switch_drain_delay);
  uv_timer_start(
      &switch_drain_timer_,
      [](uv_timer_t* timer) {
        static_cast<TrafficControl*>(timer->data)->closeIdleOfUnusedPools();
      },
      static_cast<uint64_t>(std::max<int64_t>(0, delay_ms)), 0);
}

void TrafficControl::closeIdleOfUnusedPools() {
  // Pools that no route sends traffic to any more (not active, not canary, not in a rule):
  // their keep-alive connections would only idle out.
  const routing::ConfigSnapshot& snapshot = *state_.snapshot;
  std::vector<bool> used(snapshot.pools.size(), false);
  for (const routing::Route& route : snapshot.routes.routes()) {
    used[route.pool_index] = true;
    if (route.canary_pool_index >= 0) used[static_cast<size_t>(route.canary_pool_index)] = true;
    for (const routing::MatchRule& rule : route.rules) used[rule.pool_index] = true;
  }
  std::vector<uint64_t> unused_ids;
  for (size_t i = 0; i < used.size(); ++i) {
    if (!used[i]) unused_ids.push_back(snapshot.pools[i]->id);
  }
  if (unused_ids.empty()) return;
  publisher_.runOnAll("close_idle_connections",
                      [unused_ids](Worker& worker) { worker.closeIdleConnections(unused_ids); });
}

}  // namespace sy::proxy::control
