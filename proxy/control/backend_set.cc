#include "proxy/control/backend_set.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "admin/status_json.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/backend_change.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {
namespace {

// 400 for a bad argument, 404 unknown, 409 duplicate or last backend.
admin::Reply refusal(const absl::Status& status) {
  int code = 400;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      code = 404;
      break;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      code = 409;
      break;
    default:
      break;
  }
  return admin::errorReply(code, std::string(status.message()));
}

// The body's "weight": absent -> `fallback`; else an integer (range checked by the overlay).
bool readWeight(const nlohmann::json& body, uint32_t fallback, uint32_t* weight,
                admin::Responder& respond) {
  if (!body.contains("weight")) {
    *weight = fallback;
    return true;
  }
  const nlohmann::json& value = body["weight"];
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000) {
    respond(admin::errorReply(
        400, absl::StrCat("weight must be an integer from 1 to 1000, got ", value.dump())));
    return false;
  }
  *weight = value.get<uint32_t>();
  return true;
}

bool onlyKeys(const nlohmann::json& body, std::initializer_list<const char*> keys,
              admin::Responder& respond) {
  if (!body.is_object()) {
    respond(admin::errorReply(400, "body: expected a JSON object"));
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* k : keys) known = known || key == k;
    if (!known) {
      respond(admin::errorReply(400, absl::StrCat("body: unknown key \"", key, "\"")));
      return false;
    }
  }
  return true;
}

}  // namespace

bool BackendSet::refuseFollowedPool(const std::string& pool, admin::Responder& respond) const {
  const routing::config::PoolConfig* config = state_.file_config->findPool(pool);
  if (config == nullptr || !config->followsDns()) return false;
  respond(admin::errorReply(
      409, absl::StrCat("pool \"", pool,
                        "\" follows DNS (resolve = true): its backends are what its names "
                        "resolve to; change the DNS records or the configuration file")));
  return true;
}

bool BackendSet::poolInUse(const std::string& pool) const {
  for (const auto& [route, traffic] : state_.traffic.routes()) {
    if (traffic.active == pool || (traffic.canary_pool == pool && traffic.canary_weight > 0) ||
        (traffic.mirror_pool == pool && traffic.mirror_percent > 0)) {
      return true;
    }
  }
  return false;
}

void BackendSet::add(const std::string& pool, const nlohmann::json& body,
                     admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  if (refuseFollowedPool(pool, respond)) return;
  if (!onlyKeys(body, {"address", "weight"}, respond)) return;
  if (!body.contains("address") || !body["address"].is_string()) {
    return respond(admin::errorReply(400, "body: \"address\" (\"IP:PORT\") is required"));
  }
  uint32_t weight = 1;
  if (!readWeight(body, 1, &weight, respond)) return;
  const std::string address = body["address"].get<std::string>();
  absl::Status added =
      state_.backend_overlay.add(*state_.file_config, *state_.config, pool, address, weight);
  if (!added.ok()) return respond(refusal(added));
  const std::string normalised = core::NetAddress::parse(address, false)->toString();
  core::logInfo("backend_added",
                {{"pool", pool}, {"backend", normalised}, {"weight", weight}, {"by", "admin API"}});
  publishChange(pool, 201, {{"added", normalised}}, std::move(respond), normalised);
  // Its first check now rather than at the next interval.
  if (state_.backend_states.find(pool, normalised)->awaiting_check) {
    health_.checkNow(pool, normalised);
  }
}

void BackendSet::reweight(const std::string& pool, const std::string& address,
                          const nlohmann::json& body, admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  if (refuseFollowedPool(pool, respond)) return;
  if (!onlyKeys(body, {"weight"}, respond)) return;
  if (!body.contains("weight"))
    return respond(admin::errorReply(400, "body: \"weight\" is required"));
  uint32_t weight = 1;
  if (!readWeight(body, 1, &weight, respond)) return;
  absl::Status changed =
      state_.backend_overlay.reweight(*state_.file_config, *state_.config, pool, address, weight);
  if (!changed.ok()) return respond(refusal(changed));
  core::logInfo("backend_reweighted",
                {{"pool", pool}, {"backend", address}, {"weight", weight}, {"by", "admin API"}});
  publishChange(pool, 200, {{"reweighted", address}, {"weight", weight}}, std::move(respond));
}

void BackendSet::remove(const std::string& pool, const std::string& address, absl::Duration wait,
                        bool force, admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) return respond(admin::errorReply(503, "shutting down"));
  if (refuseFollowedPool(pool, respond)) return;
  const routing::config::PoolConfig* running = state_.config->findPool(pool);
  if (running == nullptr) {
    return respond(admin::errorReply(404, absl::StrCat("unknown pool \"", pool, "\"")));
  }
  const routing::config::BackendConfig* target = nullptr;
  for (const auto& backend : running->backends) {
    if (backend.address_text == address || backend.address.toString() == address) {
      target = &backend;
    }
  }
  if (target == nullptr) {
    return respond(
        admin::errorReply(404, absl::StrCat("pool \"", pool, "\" has no backend ", address)));
  }
  if (running->backends.size() == 1) {
    return respond(
        admin::errorReply(409, absl::StrCat("backend ", address, " is the last of pool \"", pool,
                                            "\": a pool keeps at least one (add another first)")));
  }
  // The last backend taking new requests in a pool a route sends to: removing it fails them.
  const int index = state_.snapshot->poolIndex(pool);
  if (!force && index >= 0 && poolInUse(pool)) {
    const upstream::PoolSnapshot& snapshot = *state_.snapshot->pools[static_cast<size_t>(index)];
    bool others_eligible = false;
    for (uint32_t i : snapshot.eligible) {
      if (!snapshot.panic && snapshot.backends[i].info->address_text != target->address_text) {
        others_eligible = true;
      }
    }
    if (!others_eligible) {
      return respond(admin::errorReply(
          409, absl::StrCat("backend ", address, " is the last one taking traffic in pool \"", pool,
                            "\", which a route uses; add ?force=1 to remove it anyway")));
    }
  }
  const std::string configured = target->address_text;
  // Drained first: no new requests once every worker has the drain; then up to `wait` for the
  // ones in flight. Removed either way (the requests still in flight keep their connection).
  backend_admin_.setBackendAdmin(
      pool, configured, routing::AdminState::kDraining, wait, admin::ChangeScope{},
      [this, pool, configured, respond = std::move(respond)](admin::Reply drained) mutable {
        if (drained.status != 200 && drained.status != 504) return respond(std::move(drained));
        absl::Status removed =
            state_.backend_overlay.remove(*state_.file_config, *state_.config, pool, configured);
        if (!removed.ok()) return respond(refusal(removed));
        core::logInfo("backend_removed", {{"pool", pool},
                                          {"backend", configured},
                                          {"drained", drained.status == 200},
                                          {"by", "admin API"}});
        publishChange(pool, 200, {{"removed", configured}, {"drained", drained.status == 200}},
                      std::move(respond));
      });
}

void BackendSet::publishChange(const std::string& pool, int status, nlohmann::json body,
                               admin::Responder respond, const std::string& added) {
  std::vector<std::string> added_list;
  if (!added.empty()) added_list.push_back(added);
  std::vector<std::string> awaiting_check = adoptBackendChange(state_, health_, pool, added_list);
  saveState(state_);
  const uint64_t generation = state_.snapshot->generation;
  publisher_.publish(
      state_.snapshot, [this, pool, status, generation, body = std::move(body),
                        respond = std::move(respond)](const absl::Status& published) mutable {
        if (!published.ok()) return respond(publishFailureReply(published));
        body["pool"] = pool;
        body["backends"] = admin::poolBackendsJson(*state_.snapshot, pool, state_.backend_states);
        body["generation"] = generation;
        respond(admin::jsonReply(status, std::move(body)));
      });
  // Its first check now, not at the next interval: the backend waits for it.
  for (const std::string& address : awaiting_check) health_.checkNow(pool, address);
}

}  // namespace sy::proxy::control
