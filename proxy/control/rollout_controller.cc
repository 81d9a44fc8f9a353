#include "proxy/control/rollout_controller.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "core/uv_handle.h"
#include "proxy/control/state_file.h"

namespace sy::proxy::control {

RolloutController::RolloutController(ControlState& state, TrafficControl& traffic)
    : state_(state), traffic_(traffic) {}

RolloutController::~RolloutController() = default;

uint64_t RolloutController::nowMs() const { return uv_now(loop_); }

RolloutController::Entry& RolloutController::add(Rollout rollout) {
  const std::string route = rollout.spec().route;
  auto entry = std::make_unique<Entry>(*this, std::move(rollout), next_id_++);
  Entry& added = *entry;
  rollouts_[route] = std::move(entry);
  return added;
}

RolloutController::Entry* RolloutController::find(const std::string& route, uint64_t id) {
  auto it = rollouts_.find(route);
  return it != rollouts_.end() && it->second->id == id ? it->second.get() : nullptr;
}

void RolloutController::start(uv_loop_t* loop, const nlohmann::json& saved) {
  loop_ = loop;
  webhooks_.start(loop);
  // Fleet mode: the election decides which instance runs the windows.
  if (fleetMode()) leading_ = false;
  if (!saved.is_object()) return;
  for (const auto& [route, json] : saved.items()) {
    absl::StatusOr<Rollout> restored = Rollout::fromJson(json, nowMs());
    if (!restored.ok() || state_.traffic.find(route) == nullptr ||
        state_.config->findPool(restored->spec().pool) == nullptr) {
      core::logWarn("rollout_not_restored",
                    {{"route", route},
                     {"error", restored.ok() ? "the route or the canary pool is gone"
                                             : std::string(restored.status().message())}});
      continue;
    }
    Entry& added = add(std::move(*restored));
    // Its state was told before the restart.
    added.notified = {added.rollout.phase(), added.rollout.step()};
    core::logInfo("rollout_restored", {{"route", route},
                                       {"state", phaseName(added.rollout.phase())},
                                       {"step", added.rollout.step()},
                                       {"weight", added.rollout.weight()}});
    updateGauges(added.rollout);
    if (!added.rollout.running()) continue;
    // The traffic state came back from the same file: the saved weight is in force already.
    startTimer(added);
  }
}

void RolloutController::endOrphaned() {
  SY_DCHECK_ON_CONTROL_THREAD();
  for (auto& [route, entry] : rollouts_) {
    Rollout& rollout = entry->rollout;
    if (!rollout.running()) continue;
    const RolloutSpec& spec = rollout.spec();
    const routing::RouteTraffic* traffic = state_.traffic.find(route);
    std::string reason;
    if (traffic == nullptr) {
      reason = absl::StrCat("the reload removed route \"", route, "\"");
    } else if (state_.config->findPool(spec.pool) == nullptr) {
      reason = absl::StrCat("the reload removed pool \"", spec.pool, "\"");
    } else if (spec.kind == RolloutKind::kVerify
                   ? traffic->active != spec.pool
                   : rollout.weight() > 0 && traffic->canary_pool != spec.pool) {
      reason = "the reload reset the route's traffic to the configuration file's";
    } else {
      continue;
    }
    if (!rollout.abort(nowMs(), reason).ok()) continue;
    stopTimer(*entry);
    updateGauges(rollout);
    state_.metrics.rolloutRolledBack(route, "reload");
    core::logWarn("rollout_aborted", {{"route", route},
                                      {"pool", spec.pool},
                                      {"state", phaseName(rollout.phase())},
                                      {"step", rollout.step()},
                                      {"reason", reason}});
    notify(*entry, "rollout_aborted");
  }
  saveState(state_);
}

void RolloutController::close() {
  for (auto& [route, entry] : rollouts_) stopTimer(*entry);
  webhooks_.close();
}

void RolloutController::startTimer(Entry& entry) {
  if (!leading_) return;  // fleet mode: the leader runs the windows
  readPool(entry.rollout.spec().route, entry.rollout.spec().pool, &entry.canary_before);
  readPool(entry.rollout.spec().route, entry.rollout.baselinePool(), &entry.baseline_before);
  entry.timer.init(loop_, uv_timer_init);
  entry.timer.get()->data = &entry;
  const uint64_t interval = entry.rollout.spec().interval_ms;
  uv_timer_start(
      entry.timer.get(),
      [](uv_timer_t* timer) {
        auto* running = static_cast<Entry*>(timer->data);
        running->controller.onTimer(*running);
      },
      interval, interval);
}

void RolloutController::stopTimer(Entry& entry) { entry.timer.reset(); }

bool RolloutController::readPool(const std::string& route_name, const std::string& pool,
                                 PoolReading* reading) const {
  const bool known = readLocalPool(route_name, pool, reading);
  if (known && figures_ != nullptr) figures_->addOthers(route_name, pool, reading);
  return known;
}

bool RolloutController::readLocalPool(const std::string& route_name, const std::string& pool,
                                      PoolReading* reading) const {
  *reading = PoolReading{};
  const routing::Route* route = state_.snapshot->routes.find(route_name);
  const int index = state_.snapshot->poolIndex(pool);
  if (route == nullptr || index < 0) return false;
  const auto& stats = route->stats_by_pool[static_cast<size_t>(index)];
  if (stats == nullptr) return false;
  for (const routing::RoutePoolWorkerStats& slot : stats->slots()) {
    for (size_t c = 0; c < reading->responses.size(); ++c) {
      reading->responses[c] += slot.responses[c].get();
    }
    reading->duration.add(slot.duration);
  }
  return true;
}

void RolloutController::onTimer(Entry& entry) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return;  // nothing is published any more
  const RolloutSpec& spec = entry.rollout.spec();
  PoolReading canary_now;
  PoolReading baseline_now;
  readPool(spec.route, spec.pool, &canary_now);
  readPool(spec.route, entry.rollout.baselinePool(), &baseline_now);
  const WindowFigures canary =
      WindowFigures::between(entry.canary_before, canary_now, spec.rules.error_classes);
  const WindowFigures baseline =
      WindowFigures::between(entry.baseline_before, baseline_now, spec.rules.error_classes);
  entry.canary_before = canary_now;
  entry.baseline_before = baseline_now;
  const RolloutAction action = entry.rollout.onWindow(nowMs(), canary, baseline);
  const WindowRecord& window = entry.rollout.windows().back();
  const char* verdict = window.paused ? "paused" : verdictName(window.result.verdict);
  state_.metrics.rolloutAnalysis(spec.route, verdict);
  core::logInfo("rollout_analysis", {{"route", spec.route},
                                     {"pool", spec.pool},
                                     {"step", window.step},
                                     {"weight", window.weight},
                                     {"verdict", verdict},
                                     {"canary_requests", window.canary_requests},
                                     {"canary_errors", window.canary_errors},
                                     {"baseline_requests", window.baseline_requests},
                                     {"baseline_errors", window.baseline_errors},
                                     {"reason", window.result.reason}});
  const char* event = "rollout_step";
  if (entry.rollout.phase() == RolloutPhase::kRolledBack) event = "rollout_rolled_back";
  if (entry.rollout.phase() == RolloutPhase::kSucceeded) event = "rollout_succeeded";
  apply(entry, action, event, admin::ChangeScope{}, nullptr);
}

void RolloutController::updateGauges(const Rollout& rollout) {
  state_.metrics.rolloutProgress(rollout.spec().route, static_cast<int>(rollout.phase()) + 1,
                                 rollout.step(), rollout.weight());
}

void RolloutController::apply(Entry& entry, const RolloutAction& action, const char* event,
                              const admin::ChangeScope& scope, admin::Responder respond) {
  const Rollout& rollout = entry.rollout;
  const std::string route = rollout.spec().route;
  updateGauges(rollout);
  if (!rollout.running()) {
    stopTimer(entry);
    if (rollout.phase() == RolloutPhase::kRolledBack) {
      state_.metrics.rolloutRolledBack(route, "analysis");
    } else if (rollout.phase() == RolloutPhase::kAborted) {
      state_.metrics.rolloutRolledBack(route, "aborted");
    }
  }
  nlohmann::json fields = {{"route", route},
                           {"pool", rollout.spec().pool},
                           {"state", phaseName(rollout.phase())},
                           {"step", rollout.step()},
                           {"weight", rollout.weight()}};
  if (!rollout.reason().empty()) fields["reason"] = rollout.reason();
  const bool changed =
      action.kind != RolloutAction::Kind::kNone && action.kind != RolloutAction::Kind::kAskGate;
  // Operator commands are logged even when they move no traffic (pause, resume).
  if (changed || !rollout.running() || respond) {
    if (rollout.phase() == RolloutPhase::kRolledBack) {
      core::logWarn(event, fields);
    } else {
      core::logInfo(event, fields);
    }
  }
  // What to answer once the change is published (or at once when there is none).
  nlohmann::json answer = rollout.toJson(nowMs());
  const bool verify = rollout.spec().kind == RolloutKind::kVerify;
  // Fleet mode: every change of the rollout's state is stored in the fleet's state, with the
  // traffic change it makes when it makes one; a change of state alone (an operator's pause or
  // resume, an end without a publish) is stored by itself.
  const bool state_only =
      (action.kind == RolloutAction::Kind::kNone && (respond || !rollout.running())) ||
      (action.kind == RolloutAction::Kind::kPromote && verify);
  const bool fleet_write =
      fleetMode() && (state_only || action.kind == RolloutAction::Kind::kSetWeight ||
                      action.kind == RolloutAction::Kind::kRollBack ||
                      action.kind == RolloutAction::Kind::kPromote);
  if (fleet_write) ++writes_in_flight_;
  admin::Responder done = [this, respond = std::move(respond), answer, route, id = entry.id,
                           event = std::string(event)](admin::Reply published) mutable {
    if (published.status != 200) {
      core::logError("rollout_publish_failed", {{"route", route}, {"reply", published.body}});
      if (respond) respond(std::move(published));
      return;
    }
    // Told once the change is in force (or, for a refused first step, never).
    if (Entry* published_entry = find(route, id)) notify(*published_entry, event.c_str());
    if (respond) respond(admin::jsonReply(200, std::move(answer)));
  };
  if (fleet_write) {
    // Once answered, the fleet's stored rollouts win again over this instance's.
    done = [this, answered = std::move(done)](admin::Reply published) mutable {
      const admin::Reply outcome = published;
      answered(std::move(published));
      fleetWriteDone(outcome);
    };
  }
  switch (action.kind) {
    case RolloutAction::Kind::kAskGate:
      askGate(entry);
      [[fallthrough]];
    case RolloutAction::Kind::kNone:
      if (fleet_write) {
        fleet_->change(event, route, {{"state", phaseName(rollout.phase())}}, scope.wait_all,
                       std::move(done));
        return;
      }
      saveState(state_);
      done(admin::jsonReply(200, {}));
      return;
    case RolloutAction::Kind::kSetWeight:
      if (verify) {  // the one step of a verify rollout: the switch itself
        traffic_.switchPool(route, rollout.spec().pool, /*force=*/false, scope, std::move(done),
                            TrafficControl::Origin::kRollout);
        return;
      }
      traffic_.setCanary(route, rollout.spec().pool, action.weight, scope, std::move(done),
                         TrafficControl::Origin::kRollout);
      return;
    case RolloutAction::Kind::kRollBack:
      if (verify) {  // back to the pool that was active before the switch
        traffic_.rollback(route, scope, std::move(done), TrafficControl::Origin::kRollout);
        return;
      }
      traffic_.setCanary(route, rollout.spec().pool, 0, scope, std::move(done),
                         TrafficControl::Origin::kRollout);
      return;
    case RolloutAction::Kind::kPromote:
      if (verify) {  // already the active pool
        if (fleet_write) {
          fleet_->change(event, route, {{"state", phaseName(rollout.phase())}}, scope.wait_all,
                         std::move(done));
          return;
        }
        saveState(state_);
        done(admin::jsonReply(200, {}));
        return;
      }
      traffic_.promote(route, scope, std::move(done), TrafficControl::Origin::kRollout);
      return;
  }
}

void RolloutController::create(const nlohmann::json& body, const std::string& default_route,
                               const admin::ChangeScope& scope, admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  absl::StatusOr<RolloutSpec> spec = parseRolloutSpec(body, default_route);
  if (!spec.ok()) return respond(admin::errorReply(400, std::string(spec.status().message())));
  if (spec->route.empty()) {
    return respond(admin::errorReply(400, "route: the configuration has several routes; name one"));
  }
  const routing::RouteTraffic* traffic = state_.traffic.find(spec->route);
  if (traffic == nullptr) {
    return respond(admin::errorReply(404, absl::StrCat("unknown route \"", spec->route, "\"")));
  }
  if (state_.config->findPool(spec->pool) == nullptr) {
    return respond(admin::errorReply(404, absl::StrCat("unknown pool \"", spec->pool, "\"")));
  }
  if (spec->pool == traffic->active) {
    return respond(admin::errorReply(409, absl::StrCat("pool \"", spec->pool,
                                                       "\" is the route's active pool: a rollout "
                                                       "moves traffic to another pool")));
  }
  if (running(spec->route)) {
    return respond(
        admin::errorReply(409, absl::StrCat("route \"", spec->route,
                                            "\" already runs a rollout; abort it first (POST "
                                            "/admin/rollouts/",
                                            spec->route, "/abort)")));
  }
  const std::string route = spec->route;
  auto entry =
      std::make_unique<Entry>(*this, Rollout(std::move(*spec), traffic->active), next_id_++);
  Entry& added = *entry;
  // The route's finished rollout, if any, comes back if this one is refused.
  auto previous = std::make_shared<std::unique_ptr<Entry>>();
  if (auto it = rollouts_.find(route); it != rollouts_.end()) *previous = std::move(it->second);
  rollouts_[route] = std::move(entry);
  const RolloutAction action = added.rollout.start(nowMs());
  startTimer(added);
  apply(added, action, "rollout_started", scope,
        [this, route, previous, respond = std::move(respond)](admin::Reply reply) mutable {
          if (reply.status != 200) {
            // The first step was refused (a verify switch to a pool with no healthy backend)
            // or not published: no rollout, and the route's gauges and record as they were.
            auto it = rollouts_.find(route);
            if (it != rollouts_.end()) {
              stopTimer(*it->second);
              if (*previous != nullptr) {
                it->second = std::move(*previous);
                updateGauges(it->second->rollout);
              } else {
                rollouts_.erase(it);
                state_.metrics.rolloutCleared(route);
              }
            }
            core::logWarn("rollout_not_started", {{"route", route}, {"reply", reply.body}});
            return respond(std::move(reply));
          }
          state_.metrics.rolloutStarted(route);
          reply.status = 201;
          respond(std::move(reply));
        });
}

void RolloutController::show(const std::string& route, admin::Responder respond) const {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (route.empty()) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [name, entry] : rollouts_) all.push_back(entry->rollout.toJson(nowMs()));
    return respond(admin::jsonReply(200, {{"rollouts", all}}));
  }
  auto it = rollouts_.find(route);
  if (it == rollouts_.end()) {
    return respond(admin::errorReply(404, absl::StrCat("no rollout on route \"", route, "\"")));
  }
  respond(admin::jsonReply(200, it->second->rollout.toJson(nowMs())));
}

void RolloutController::command(const std::string& route, const std::string& verb,
                                admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  auto it = rollouts_.find(route);
  if (it == rollouts_.end()) {
    return respond(admin::errorReply(404, absl::StrCat("no rollout on route \"", route, "\"")));
  }
  Entry& entry = *it->second;
  const uint64_t now = nowMs();
  absl::StatusOr<RolloutAction> action;
  if (verb == "pause") {
    action = entry.rollout.pause(now);
  } else if (verb == "resume") {
    action = entry.rollout.resume(now);
  } else if (verb == "abort") {
    action = entry.rollout.abort(now, "aborted by an operator");
  } else if (verb == "promote") {
    action = entry.rollout.promoteNow(now);
  } else if (verb == "skip") {
    action = entry.rollout.skip(now);
  } else {
    return respond(
        admin::errorReply(404, absl::StrCat("no such rollout command \"", verb,
                                            "\" (pause, resume, abort, promote, skip)")));
  }
  if (!action.ok()) return respond(admin::errorReply(409, std::string(action.status().message())));
  apply(entry, *action, absl::StrCat("rollout_", verb).c_str(), admin::ChangeScope{},
        std::move(respond));
}

bool RolloutController::running(const std::string& route) const {
  auto it = rollouts_.find(route);
  return it != rollouts_.end() && it->second->rollout.running();
}

nlohmann::json RolloutController::toJson() const {
  nlohmann::json saved = nlohmann::json::object();
  for (const auto& [route, entry] : rollouts_) saved[route] = entry->rollout.toJson(nowMs());
  return saved;
}

}  // namespace sy::proxy::control
