#include "proxy/control/fleet_election.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "core/log.h"

namespace sy::proxy::control {
namespace {

// How often an instance checks whether it must campaign or stop leading. Cheap: no etcd
// request unless the key is free; the delete seen in the watch campaigns at once anyway.
constexpr uint64_t kElectionTickMs = 200;

}  // namespace

FleetElection::FleetElection(FleetSync& fleet) : fleet_(fleet) {
  fleet_.addWatcher({.on_reset =
                         [this] {
                           // The full read that follows names the leader, if any.
                           leader_.clear();
                           leader_admin_.clear();
                         },
                     .on_key =
                         [this](const std::string& key, const nlohmann::json& kv, bool deleted) {
                           if (key == this->key()) onKey(kv, deleted);
                         }});
}

void FleetElection::start(uv_loop_t* loop) {
  if (!fleet_.enabled()) return;
  timer_.init(loop, uv_timer_init);
  timer_.get()->data = this;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* timer) { static_cast<FleetElection*>(timer->data)->tick(); },
      kElectionTickMs, kElectionTickMs);
}

void FleetElection::close() {
  closed_ = true;
  timer_.reset();
}

void FleetElection::tick() {
  if (closed_) return;
  if (!fleet_.connected() || fleet_.leaseId().empty()) {
    // Cut off from etcd, this instance cannot know whether its lease still holds the key.
    if (leading_) {
      core::logWarn("fleet_leader_stepped_down",
                    {{"instance_id", fleet_.instanceId()},
                     {"detail", "etcd is unreachable: another instance may lead meanwhile"}});
    }
    setLeading(false);
    return;
  }
  // A full read after a reconnect found the key gone or another's.
  if (leading_ && leader_ != fleet_.instanceId()) setLeading(false);
  if (leader_.empty() && !campaigning_) campaign();
}

void FleetElection::campaign() {
  if (closed_ || campaigning_ || !fleet_.connected() || fleet_.leaseId().empty()) return;
  campaigning_ = true;
  const std::string key = EtcdClient::base64(this->key());
  const nlohmann::json value = {{"id", fleet_.instanceId()}, {"admin", fleet_.adminAddress()}};
  const std::string lease = fleet_.leaseId();
  nlohmann::json txn = {
      {"compare",
       {{{"key", key}, {"result", "EQUAL"}, {"target", "CREATE"}, {"create_revision", "0"}}}},
      {"success",
       {{{"request_put",
          {{"key", key}, {"value", EtcdClient::base64(value.dump())}, {"lease", lease}}}}}},
      {"failure", {{{"request_range", {{"key", key}}}}}}};
  fleet_.etcd()->call("/v3/kv/txn", txn, [this, lease](absl::StatusOr<nlohmann::json> answer) {
    campaigning_ = false;
    if (closed_ || !answer.ok()) return;  // the next tick tries again
    if (answer->value("succeeded", false)) {
      leader_ = fleet_.instanceId();
      leader_admin_ = fleet_.adminAddress();
      setLeading(lease == fleet_.leaseId());
      return;
    }
    // Someone holds it: the range in the failure branch says who (the watch says it too).
    for (const nlohmann::json& response : answer->value("responses", nlohmann::json::array())) {
      const nlohmann::json kvs = response.value("response_range", nlohmann::json::object())
                                     .value("kvs", nlohmann::json::array());
      if (!kvs.empty()) onKey(kvs[0], false);
    }
  });
}

void FleetElection::onKey(const nlohmann::json& kv, bool deleted) {
  if (deleted) {
    const std::string was = leader_;
    leader_.clear();
    leader_admin_.clear();
    setLeading(false);
    core::logInfo("fleet_leader_gone", {{"leader", was}});
    campaign();
    return;
  }
  nlohmann::json value = nlohmann::json::parse(EtcdClient::unbase64(kv.value("value", "")), nullptr,
                                               /*allow_exceptions=*/false);
  if (!value.is_object()) return;
  leader_ = value.value("id", "");
  leader_admin_ = value.value("admin", "");
  // Its own key counts only under its current lease: one from before a lost lease is gone
  // soon, and another instance will win the next election.
  std::string lease = kv.value("lease", "");
  if (kv.contains("lease") && kv["lease"].is_number_integer()) {
    lease = std::to_string(kv["lease"].get<int64_t>());
  }
  setLeading(leader_ == fleet_.instanceId() && lease == fleet_.leaseId());
}

void FleetElection::setLeading(bool leading) {
  if (leading == leading_) return;
  leading_ = leading;
  leading_since_ = leading ? absl::Now() : absl::InfinitePast();
  if (leading) {
    core::logInfo("fleet_leader_elected", {{"instance_id", fleet_.instanceId()}});
  } else {
    core::logInfo("fleet_leader_lost", {{"instance_id", fleet_.instanceId()}, {"leader", leader_}});
  }
  if (on_change_) on_change_(leading);
}

void FleetElection::addStatus(nlohmann::json& fleet) const {
  fleet["leader"] = leader_.empty() ? nlohmann::json(nullptr) : nlohmann::json(leader_);
  fleet["leader_admin"] =
      leader_admin_.empty() ? nlohmann::json(nullptr) : nlohmann::json(leader_admin_);
  fleet["leading"] = leading_;
  fleet["leading_since"] = leading_
                               ? nlohmann::json(absl::FormatTime(
                                     "%Y-%m-%dT%H:%M:%E3SZ", leading_since_, absl::UTCTimeZone()))
                               : nlohmann::json(nullptr);
}

}  // namespace sy::proxy::control
