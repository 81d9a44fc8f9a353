// The rollout controller in fleet mode (issue 21): rollouts stored in the fleet's state, run by
// the elected leader from the whole fleet's figures. See rollout_controller.h.

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/rollout_controller.h"
#include "proxy/control/state_file.h"

namespace sy::proxy::control {
namespace {

// What decides a rollout, without what only its runner knows (windows, webhook calls, time in
// the step): two instances agree on a rollout when these agree.
nlohmann::json rolloutCore(const nlohmann::json& full) {
  nlohmann::json core = nlohmann::json::object();
  for (const char* field : {"route", "pool", "baseline", "state", "step", "weight", "spec"}) {
    if (full.contains(field)) core[field] = full[field];
  }
  return core;
}

}  // namespace

nlohmann::json RolloutController::fleetJson() const {
  nlohmann::json stored = nlohmann::json::object();
  if (loop_ == nullptr) return stored;
  for (const auto& [route, entry] : rollouts_) {
    nlohmann::json json = entry->rollout.toJson(nowMs());
    json.erase("windows");
    json.erase("webhook_calls");
    json.erase("step_elapsed_ms");
    stored[route] = std::move(json);
  }
  return stored;
}

void RolloutController::setLeading(bool leading) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (leading == leading_ || loop_ == nullptr) return;
  leading_ = leading;
  if (!leading) {
    for (auto& [route, entry] : rollouts_) stopTimer(*entry);
    core::logInfo("rollouts_follow_leader", {{"running", figuresPeriodMs() > 0}});
    return;
  }
  // Take over from the stored state: the step each rollout was at, its windows starting now.
  if (writes_in_flight_ == 0) adoptFleet(stored_);
  size_t running = 0;
  for (auto& [route, entry] : rollouts_) {
    if (!entry->rollout.running()) continue;
    ++running;
    stopTimer(*entry);
    startTimer(*entry);
    core::logInfo("rollout_taken_over", {{"route", route},
                                         {"state", phaseName(entry->rollout.phase())},
                                         {"step", entry->rollout.step()},
                                         {"weight", entry->rollout.weight()}});
  }
  core::logInfo("rollouts_leading", {{"running", running}});
  startDeclared();
}

void RolloutController::onFleetState(const nlohmann::json& stored, int64_t revision) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (revision < stored_revision_) return;
  stored_ = stored;
  stored_revision_ = revision;
  // While this instance's own change is on its way, what etcd held before it is older news;
  // its own change coming back changes nothing.
  if (writes_in_flight_ > 0 || revision <= own_revision_) return;
  adoptFleet(stored);
}

void RolloutController::fleetWriteDone(const admin::Reply& reply) {
  if (writes_in_flight_ > 0) --writes_in_flight_;
  const auto revision =
      reply.body.is_object() ? reply.body.find("fleet_revision") : reply.body.end();
  if (reply.status == 200 && revision != reply.body.end() && revision->is_number_integer()) {
    own_revision_ = std::max(own_revision_, revision->get<int64_t>());
  } else {
    // Refused (a conflict, etcd away): this instance's rollouts are not the fleet's.
    resync_after_writes_ = true;
  }
  if (writes_in_flight_ > 0) return;
  if (resync_after_writes_ || stored_revision_ > own_revision_) adoptFleet(stored_);
  resync_after_writes_ = false;
}

void RolloutController::adoptFleet(const nlohmann::json& stored) {
  if (!stored.is_object() || loop_ == nullptr) return;
  const uint64_t now = nowMs();
  bool changed = false;
  for (const auto& [route, saved] : stored.items()) {
    if (state_.traffic.find(route) == nullptr) continue;
    absl::StatusOr<Rollout> restored = Rollout::fromJson(saved, now, /*restart=*/false);
    if (restored.ok() && state_.config->findPool(restored->spec().pool) == nullptr) {
      restored = absl::FailedPreconditionError(absl::StrCat(
          "pool \"", restored->spec().pool, "\" is not in this instance's configuration"));
    }
    if (!restored.ok()) {
      core::logWarn("rollout_not_adopted",
                    {{"route", route}, {"error", restored.status().message()}});
      continue;
    }
    auto it = rollouts_.find(route);
    if (it != rollouts_.end() &&
        rolloutCore(it->second->rollout.toJson(now)) == rolloutCore(restored->toJson(now))) {
      continue;  // the same rollout at the same step: its windows go on
    }
    if (it != rollouts_.end()) stopTimer(*it->second);
    Entry& added = add(std::move(*restored));
    added.notified = {added.rollout.phase(), added.rollout.step()};  // told by whoever changed it
    updateGauges(added.rollout);
    changed = true;
    core::logInfo("rollout_adopted", {{"route", route},
                                      {"state", phaseName(added.rollout.phase())},
                                      {"step", added.rollout.step()},
                                      {"weight", added.rollout.weight()},
                                      {"leading", leading_}});
    if (added.rollout.running()) startTimer(added);  // on the leader only
  }
  if (changed) saveState(state_);
}

FleetFigures::Readings RolloutController::localFigures() const {
  FleetFigures::Readings readings;
  for (const auto& [route, entry] : rollouts_) {
    if (!entry->rollout.running()) continue;
    for (const std::string& pool : {entry->rollout.spec().pool, entry->rollout.baselinePool()}) {
      PoolReading reading;
      if (readLocalPool(route, pool, &reading)) readings[{route, pool}] = reading;
    }
  }
  return readings;
}

uint64_t RolloutController::figuresPeriodMs() const {
  uint64_t shortest = 0;
  for (const auto& [route, entry] : rollouts_) {
    if (!entry->rollout.running()) continue;
    const uint64_t interval = entry->rollout.spec().interval_ms;
    shortest = shortest == 0 ? interval : std::min(shortest, interval);
  }
  return shortest == 0 ? 0 : std::max<uint64_t>(100, shortest / 2);
}

}  // namespace sy::proxy::control
