#include "proxy/control/backend_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "admin/status_json.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {

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
                                   admin::Responder respond) {
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
  std::vector<const health::BackendRecord*> to_recheck;
  for (health::BackendRecord* record : targets) {
    if (record->admin == state) continue;
    core::logInfo("backend_admin_state", {{"pool", record->pool},
                                          {"backend", record->address},
                                          {"from", routing::adminStateName(record->admin)},
                                          {"to", routing::adminStateName(state)}});
    if (record->admin == routing::AdminState::kDisabled &&
        record->health != routing::HealthState::kUnchecked) {
      // Not checked during the maintenance: what it was before says nothing about it now.
      logHealthTransition(*record, record->health, routing::HealthState::kUnknown,
                          "back from maintenance");
      record->health = routing::HealthState::kUnknown;
      record->counters = {};
      record->awaiting_check = true;
      to_recheck.push_back(record);
    }
    record->admin = state;
    changed = true;
  }
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
  auto answer = [this, respond, describe, keys, state, wait]() mutable {
    if (state == routing::AdminState::kReady || wait <= absl::ZeroDuration()) {
      nlohmann::json body = describe();
      body["generation"] = state_.snapshot->generation;
      respond(admin::jsonReply(200, std::move(body)));
      return;
    }
    auto pending = std::make_unique<DrainWait>();
    pending->backends = keys;
    pending->deadline = absl::Now() + wait;
    pending->respond = std::move(respond);
    drain_waits_.push_back(std::move(pending));
    pollDrainWaits();
  };
  if (!changed) {
    answer();
    return;
  }
  table.touch(pool);
  state_.rebuildSnapshot();
  saveState(state_);
  for (const health::BackendRecord* record : to_recheck) {
    if (recheck_) recheck_(record->pool, record->address);
  }
  // Answer once every worker stopped sending new requests there.
  publisher_.publish(state_.snapshot,
                     [answer = std::move(answer), respond](const absl::Status& published) mutable {
                       if (!published.ok()) return respond(publishFailureReply(published));
                       answer();
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
