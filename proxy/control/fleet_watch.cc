// FleetSync's reading of the prefix (fleet_sync.h): the full read on a (re)connection, then the
// watch from the revision read, and the dispatch of every key to the part that keeps it: the
// state, the registrations (which may end a ?wait=all), and the watchers of the other fleet
// parts.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/control/etcd_fields.h"
#include "proxy/control/fleet_sync.h"

namespace sy::proxy::control {
namespace {

// The etcd range end that covers every key starting with `prefix`.
std::string fleetRangeEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

void FleetSync::readAll() {
  const std::string prefix = config_.prefix + "/";
  client_->call("/v3/kv/range",
                {{"key", EtcdClient::base64(prefix)},
                 {"range_end", EtcdClient::base64(fleetRangeEnd(prefix))}},
                [this](absl::StatusOr<nlohmann::json> answer) {
                  if (!answer.ok()) return lost(std::string(answer.status().message()));
                  const int64_t revision =
                      etcdInt64(answer->value("header", nlohmann::json()), "revision");
                  bool has_state = false;
                  instances_.clear();
                  for (const Watcher& watcher : watchers_) {
                    if (watcher.on_reset) watcher.on_reset();
                  }
                  for (const nlohmann::json& kv : answer->value("kvs", nlohmann::json::array())) {
                    const std::string key = EtcdClient::unbase64(kv.value("key", ""));
                    has_state = has_state || key == stateKey();
                    onKv(kv, false);
                  }
                  synced();
                  if (!connected_) {
                    connected_ = true;
                    connected_since_ = absl::Now();
                    core::logInfo("fleet_connected", {{"etcd", client_->endpoint()},
                                                      {"revision", seen_revision_},
                                                      {"instances", instances_.size()}});
                  }
                  connecting_ = false;
                  if (!has_state) seed();
                  if (lease_id_.empty()) {
                    grantLease();
                  } else {
                    // The lease outlived the cut (etcd keeps leases across its restarts): keep it
                    // alive again (lost() stopped that), or the registration would vanish after
                    // lease_ttl.
                    registerInstance();
                    startKeepAlive();
                  }
                  watch(revision + 1);
                });
}

void FleetSync::watch(int64_t from_revision) {
  if (watch_id_ != 0) client_->cancel(watch_id_);
  const std::string prefix = config_.prefix + "/";
  watch_id_ = client_->stream(
      "/v3/watch",
      {{"create_request",
        {{"key", EtcdClient::base64(prefix)},
         {"range_end", EtcdClient::base64(fleetRangeEnd(prefix))},
         {"start_revision", std::to_string(from_revision)}}}},
      [this](const nlohmann::json& message) { onWatchMessage(message); },
      [this](const absl::Status& ended) {
        watch_id_ = 0;
        lost(ended.ok() ? "etcd closed the watch" : std::string(ended.message()));
      });
}

void FleetSync::onWatchMessage(const nlohmann::json& message) {
  if (message.contains("error")) return lost(absl::StrCat("watch: ", message["error"].dump()));
  const nlohmann::json result = message.value("result", nlohmann::json::object());
  if (result.value("canceled", false)) {
    return lost(absl::StrCat("watch canceled: ", result.value("cancel_reason", "")));
  }
  synced();
  for (const nlohmann::json& event : result.value("events", nlohmann::json::array())) {
    onKv(event.value("kv", nlohmann::json::object()), event.value("type", "PUT") == "DELETE");
  }
}

void FleetSync::onKv(const nlohmann::json& kv, bool deleted) {
  const std::string key = EtcdClient::unbase64(kv.value("key", ""));
  for (const Watcher& watcher : watchers_) {
    if (watcher.on_key) watcher.on_key(key, kv, deleted);
  }
  if (key == stateKey()) {
    if (deleted) {
      // Kept as it is here; the next change recreates the key.
      core::logWarn("fleet_state_deleted", {{"key", key}, {"detail", "keeping the last state"}});
      seen_revision_ = 0;
      return;
    }
    applyFromEtcd(EtcdClient::unbase64(kv.value("value", "")), etcdInt64(kv, "mod_revision"));
  } else if (absl::StartsWith(key, instancesPrefix())) {
    const std::string id = key.substr(instancesPrefix().size());
    if (deleted) {
      instances_.erase(id);
    } else {
      nlohmann::json registration = nlohmann::json::parse(
          EtcdClient::unbase64(kv.value("value", "")), nullptr, /*allow_exceptions=*/false);
      if (registration.is_object()) instances_[id] = std::move(registration);
    }
    waits_.check();
  }
}

}  // namespace sy::proxy::control
