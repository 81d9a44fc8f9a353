#include "proxy/control/backend_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "admin/status_json.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/fleet_backends.h"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {

bool setBackendAdminState(health::BackendRecord& record, routing::AdminState state) {
  if (record.admin == state) return false;
  core::logInfo("backend_admin_state", {{"pool", record.pool},
                                        {"backend", record.address},
                                        {"from", routing::adminStateName(record.admin)},
                                        {"to", routing::adminStateName(state)}});
  bool recheck = false;
  if (record.admin == routing::AdminState::kDisabled &&
      record.health != routing::HealthState::kUnchecked) {
    // Not checked during the maintenance: what it was before says nothing about it now.
    logHealthTransition(record, record.health, routing::HealthState::kUnknown,
                        "back from maintenance");
    record.health = routing::HealthState::kUnknown;
    record.counters = {};
    record.awaiting_check = true;
    recheck = true;
  }
  record.admin = state;
  return recheck;
}

BackendAdmin::BackendAdmin(ControlState& state, Publisher& publisher, RecheckFn recheck)
    : state_(state), publisher_(publisher), recheck_(std::move(recheck)) {}

BackendAdmin::~BackendAdmin() = default;

void BackendAdmin::start(uv_loop_t* loop) {
  uv_timer_init(loop, &drain_poll_timer_);
  drain_poll_timer_.data = this;
  started_ = true;
}

void BackendAdmin::close() {
  for (auto& wait : drain_waits_) wait->respond(admin::errorReply(503, "shutting down"));
  drain_waits_.clear();
  if (!started_) return;
  started_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_poll_timer_), nullptr);
}

void BackendAdmin::setBackendAdmin(const std::string& pool, const std::string& address,
                                   routing::AdminState state, absl::Duration wait,
                                   const admin::ChangeScope& scope, admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  health::BackendStateTable& table = state_.backend_states;
  if (!table.hasPool(pool)) {
    return respond(admin::errorReply(404, absl::StrCat("unknown pool \"", pool, "\"")));
  }
  std::vector<health::BackendRecord*> targets;
  if (address.empty()) {
    targets = table.poolBackends(pool);
  } else if (health::BackendRecord* record = table.find(pool, address)) {
    targets.push_back(record);
  } else {
    std::vector<std::string> known;
    for (const health::BackendRecord* r : table.poolBackends(pool)) known.push_back(r->address);
    std::sort(known.begin(), known.end());
    return respond(
        admin::errorReply(404, absl::StrCat("pool \"", pool, "\" has no backend \"", address,
                                            "\" (configured: ", absl::StrJoin(known, ", "), ")")));
  }
  bool changed = false;
  for (const health::BackendRecord* record : targets) changed = changed || record->admin != state;
  std::vector<std::pair<std::string, std::string>> keys;
  for (const health::BackendRecord* record : targets) {
    keys.emplace_back(record->pool, record->address);
  }
  // By key, not by pointer: a reload may rebuild the table before the answer goes out.
  auto describe = [this, pool, keys] {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [p, a] : keys) {
      if (const health::BackendRecord* record = state_.backend_states.find(p, a)) {
        list.push_back(admin::backendJson(state_.snapshot.get(), *record));
      }
    }
    return nlohmann::json{{"pool", pool}, {"backends", list}};
  };
  // `fleet_revision`: the fleet state that made the change (0: none, or not a fleet).
  auto answer = [this, describe, keys, state, wait](admin::Responder reply_to,
                                                    int64_t fleet_revision, bool local) {
    if (state == routing::AdminState::kReady || wait <= absl::ZeroDuration()) {
      nlohmann::json body = describe();
      body["generation"] = state_.snapshot->generation;
      if (fleet_revision > 0) body["fleet_revision"] = fleet_revision;
      if (local) body["local"] = true;
      reply_to(admin::jsonReply(200, std::move(body)));
      return;
    }
    auto pending = std::make_unique<DrainWait>();
    pending->backends = keys;
    pending->deadline = absl::Now() + wait;
    pending->respond = std::move(reply_to);
    drain_waits_.push_back(std::move(pending));
    pollDrainWaits();
  };
  if (!changed) {
    answer(std::move(respond), 0, false);
    return;
  }
  const bool fleet = fleet_ != nullptr && fleet_->enabled();
  if (fleet && !scope.local) {
    // Written to etcd; every instance, this one included, applies it from there.
    nlohmann::json backends = fleet_->fleetBackends();
    for (const health::BackendRecord* record : targets) {
      backends = withBackendAdminState(std::move(backends), record->pool, record->address, state);
    }
    fleet_->changeBackends(
        std::move(backends), scope.wait_all,
        [answer](int64_t revision, admin::Responder reply_to) mutable {
          answer(std::move(reply_to), revision, false);
        },
        std::move(respond));
    return;
  }
  if (fleet) fleet_->changedLocally();
  std::vector<const health::BackendRecord*> to_recheck;
  for (health::BackendRecord* record : targets) {
    if (setBackendAdminState(*record, state)) to_recheck.push_back(record);
  }
  table.touch(pool);
  state_.rebuildSnapshot();
  saveState(state_);
  for (const health::BackendRecord* record : to_recheck) {
    if (recheck_) recheck_(record->pool, record->address);
  }
  // Answer once every worker stopped sending new requests there.
  publisher_.publish(state_.snapshot, [answer = std::move(answer), respond = std::move(respond),
                                       fleet](const absl::Status& published) mutable {
    if (!published.ok()) return respond(publishFailureReply(published));
    answer(std::move(respond), 0, fleet);
  });
}

void BackendAdmin::pollDrainWaits() {
  const absl::Time now = absl::Now();
  const routing::ConfigSnapshot* snapshot = state_.snapshot.get();
  for (auto it = drain_waits_.begin(); it != drain_waits_.end();) {
    DrainWait& wait = **it;
    bool all_drained = true;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [pool, address] : wait.backends) {
      const health::BackendRecord* record = state_.backend_states.find(pool, address);
      if (record == nullptr) continue;  // removed by a reload meanwhile: nothing left to drain
      all_drained = all_drained && admin::backendDrained(snapshot, *record);
      list.push_back(admin::backendJson(snapshot, *record));
    }
    if (all_drained || now >= wait.deadline) {
      nlohmann::json body = {{"pool", wait.backends.empty() ? "" : wait.backends.front().first},
                             {"backends", list},
                             {"drained", all_drained}};
      if (all_drained) {
        wait.respond(admin::jsonReply(200, std::move(body)));
      } else {
        admin::Reply reply = admin::errorReply(504, "not drained before the wait ran out");
        reply.body["backends"] = list;
        reply.body["drained"] = false;
        wait.respond(std::move(reply));
      }
      it = drain_waits_.erase(it);
    } else {
      ++it;
    }
  }
  if (!started_) return;
  if (drain_waits_.empty()) {
    uv_timer_stop(&drain_poll_timer_);
  } else if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&drain_poll_timer_))) {
    uv_timer_start(
        &drain_poll_timer_,
        [](uv_timer_t* timer) { static_cast<BackendAdmin*>(timer->data)->pollDrainWaits(); }, 50,
        50);
  }
}

}  // namespace sy::proxy::control
