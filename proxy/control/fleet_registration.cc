// FleetSync's registration (fleet_sync.h): the lease, kept alive every lease_ttl / 3 and taken
// anew when it expired, the instance's key under PREFIX/instances/ on it, one put at a time,
// and the revoke at a clean shutdown.

#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "core/build_info.h"
#include "core/log.h"
#include "proxy/control/etcd_fields.h"
#include "proxy/control/fleet_sync.h"

namespace sy::proxy::control {

void FleetSync::revokeLease() {
  if (!connected_ || lease_id_.empty()) return;
  // Blocking, bounded by request_timeout: the loop is closing, and the other instances should
  // not list this one (nor wait for it with ?wait=all) for lease_ttl after it left.
  uv_timer_stop(keepalive_timer_.get());
  absl::StatusOr<nlohmann::json> revoked =
      client_->callBlocking("/v3/lease/revoke", {{"ID", lease_id_}});
  if (revoked.ok()) {
    core::logInfo("fleet_left", {{"instance_id", instance_id_}, {"lease", lease_id_}});
  } else {
    core::logWarn("fleet_lease_revoke_failed",
                  {{"lease", lease_id_},
                   {"error", revoked.status().message()},
                   {"detail", "the other instances list this one until its lease expires"}});
  }
  lease_id_.clear();
}

void FleetSync::grantLease() {
  const int64_t ttl = std::max<int64_t>(1, absl::ToInt64Seconds(config_.lease_ttl));
  client_->call("/v3/lease/grant", {{"TTL", ttl}}, [this](absl::StatusOr<nlohmann::json> answer) {
    if (!answer.ok()) return lost(std::string(answer.status().message()));
    lease_id_ = std::to_string(etcdInt64(*answer, "ID"));
    registerInstance();
    startKeepAlive();
  });
}

void FleetSync::startKeepAlive() {
  const uint64_t every_ms = static_cast<uint64_t>(
      std::max<int64_t>(100, absl::ToInt64Milliseconds(config_.lease_ttl) / 3));
  uv_timer_start(
      keepalive_timer_.get(),
      [](uv_timer_t* timer) { static_cast<FleetSync*>(timer->data)->keepAlive(); }, every_ms,
      every_ms);
}

void FleetSync::keepAlive() {
  if (!connected_ || lease_id_.empty()) return;
  client_->call("/v3/lease/keepalive", {{"ID", lease_id_}},
                [this](absl::StatusOr<nlohmann::json> answer) {
                  if (!answer.ok()) return lost(std::string(answer.status().message()));
                  synced();
                  if (etcdInt64(answer->value("result", nlohmann::json()), "TTL") <= 0) {
                    // The lease expired (etcd was away longer than its TTL): a new one.
                    core::logInfo("fleet_lease_expired", {{"lease", lease_id_}});
                    lease_id_.clear();
                    uv_timer_stop(keepalive_timer_.get());
                    grantLease();
                  }
                });
}

void FleetSync::registerInstance() {
  if (!connected_ || lease_id_.empty() || closed_) return;
  if (registering_) {
    // One put at a time: two in flight could reach etcd in either order and leave the older
    // applied_revision as the last word.
    register_again_ = true;
    return;
  }
  registering_ = true;
  register_again_ = false;
  const nlohmann::json registration = {{"id", instance_id_},
                                       {"admin", admin_address_},
                                       {"version", core::versionString()},
                                       {"pid", ::getpid()},
                                       {"applied_revision", applied_revision_},
                                       {"refused_revision", etcdInt64(refused_, "revision")}};
  client_->call("/v3/kv/put",
                {{"key", EtcdClient::base64(instancesPrefix() + instance_id_)},
                 {"value", EtcdClient::base64(registration.dump())},
                 {"lease", lease_id_}},
                [this](absl::StatusOr<nlohmann::json> answer) {
                  registering_ = false;
                  if (!answer.ok()) {
                    // The lease expired while etcd was out of reach (longer than lease_ttl):
                    // the reconnect must ask for a new one, or every reconnect would fail here.
                    if (absl::StrContains(answer.status().message(), "lease not found")) {
                      core::logInfo("fleet_lease_expired", {{"lease", lease_id_}});
                      lease_id_.clear();
                    }
                    return lost(std::string(answer.status().message()));
                  }
                  if (register_again_) registerInstance();
                });
}

}  // namespace sy::proxy::control
