// FleetSync (fleet_sync.h): loading at start, changes (the compare-and-swap), applying a state,
// the connection's ups and downs, status and metrics. The registration and its lease are in
// fleet_registration.cc, the read and watch of the prefix in fleet_watch.cc.

#include "proxy/control/fleet_sync.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "admin/metric_families.h"
#include "core/log.h"
#include "proxy/control/etcd_fields.h"
#include "proxy/control/fleet_backends.h"
#include "proxy/control/fleet_etcd_options.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {
namespace {

std::string timeText(absl::Time time) {
  if (time == absl::InfinitePast()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

}  // namespace

FleetSync::FleetSync(ControlState& state, Publisher& publisher)
    : state_(state), publisher_(publisher) {}

FleetSync::~FleetSync() = default;

nlohmann::json FleetSync::stateJson() const {
  nlohmann::json state = state_.traffic.toJson();
  state["backends"] = fleetBackends();
  if (extra_state_) state[extra_state_name_] = extra_state_();
  return state;
}

nlohmann::json FleetSync::fleetBackends() const {
  // The fleet's, not this instance's: a local=1 drain must not reach the fleet with the next
  // change made here.
  if (applied_state_.is_object() && applied_state_.contains("backends")) {
    return applied_state_["backends"];
  }
  return fleetBackendsJson(state_.backend_states);
}

absl::Status FleetSync::validate(const nlohmann::json& fleet_state) const {
  if (!fleet_state.is_object() || !fleet_state.contains("routes") ||
      !fleet_state["routes"].is_object()) {
    return absl::InvalidArgumentError("not a Switchyard traffic state (no \"routes\" object)");
  }
  for (const auto& [route, saved] : fleet_state["routes"].items()) {
    if (state_.traffic.find(route) == nullptr || !saved.is_object()) continue;
    for (const char* role : {"active", "canary_pool", "mirror_pool"}) {
      const auto found = saved.find(role);
      if (found == saved.end() || !found->is_string() || found->get<std::string>().empty()) {
        continue;
      }
      const std::string pool = found->get<std::string>();
      if (state_.config->findPool(pool) == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("route \"", route, "\" names pool \"", pool, "\" (", role,
                         ") which this instance's configuration lacks"));
      }
    }
  }
  if (fleet_state.contains("backends")) {
    return validateFleetBackends(fleet_state["backends"], state_.backend_states);
  }
  return absl::OkStatus();
}

absl::Status FleetSync::loadAtStart() {
  if (!state_.config->fleet.has_value()) return absl::OkStatus();
  config_ = *state_.config->fleet;
  // An unreadable TLS file or an unset password variable fails the start, as in --check.
  absl::StatusOr<EtcdClient::Options> options = fleetEtcdOptions(config_);
  if (!options.ok()) return options.status();
  client_ = std::make_unique<EtcdClient>(*std::move(options));
  applied_state_ = stateJson();
  absl::StatusOr<nlohmann::json> answer =
      client_->callBlocking("/v3/kv/range", {{"key", EtcdClient::base64(stateKey())}});
  if (!answer.ok()) {
    last_error_ = std::string(answer.status().message());
    core::logWarn("fleet_unreachable_at_start",
                  {{"etcd", config_.etcd},
                   {"error", last_error_},
                   {"detail",
                    "starting on the state file's state; the fleet's state is applied "
                    "once etcd answers"}});
    return absl::OkStatus();
  }
  synced();
  const nlohmann::json kvs = answer->value("kvs", nlohmann::json::array());
  if (kvs.empty()) {
    core::logInfo("fleet_state_absent",
                  {{"key", stateKey()}, {"detail", "this instance's state seeds the fleet"}});
    return absl::OkStatus();
  }
  applyFromEtcd(EtcdClient::unbase64(kvs[0].value("value", "")), etcdInt64(kvs[0], "mod_revision"));
  return absl::OkStatus();
}

void FleetSync::start(uv_loop_t* loop, const std::string& admin_address) {
  if (!enabled()) return;
  loop_ = loop;
  admin_address_ = admin_address;
  instance_id_ = config_.instance_id;
  if (instance_id_.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    instance_id_ = absl::StrCat(host, ":", admin_address.substr(admin_address.rfind(':') + 1));
  }
  client_->start(loop);
  waits_.start(loop);
  reconnect_timer_.init(loop, uv_timer_init);
  reconnect_timer_.get()->data = this;
  keepalive_timer_.init(loop, uv_timer_init);
  keepalive_timer_.get()->data = this;
  core::logInfo(
      "fleet_started",
      {{"instance_id", instance_id_}, {"prefix", config_.prefix}, {"etcd", config_.etcd}});
  connect();
}

void FleetSync::close() {
  if (!enabled() || closed_ || loop_ == nullptr) return;
  waits_.close();
  revokeLease();
  closed_ = true;
  client_->close();
  reconnect_timer_.reset();
  keepalive_timer_.reset();
}

void FleetSync::connect() {
  if (closed_ || connecting_) return;
  connecting_ = true;
  readAll();
}

void FleetSync::seed() {
  const std::string key = EtcdClient::base64(stateKey());
  const nlohmann::json state = stateJson();
  nlohmann::json txn = {
      {"compare",
       {{{"key", key}, {"result", "EQUAL"}, {"target", "CREATE"}, {"create_revision", "0"}}}},
      {"success",
       {{{"request_put", {{"key", key}, {"value", EtcdClient::base64(state.dump())}}}}}}};
  client_->call("/v3/kv/txn", txn, [this, state](absl::StatusOr<nlohmann::json> answer) {
    if (!answer.ok()) return lost(std::string(answer.status().message()));
    if (!answer->value("succeeded", false)) return;  // another instance seeded: the watch brings it
    const int64_t revision = etcdInt64(answer->value("header", nlohmann::json()), "revision");
    seen_revision_ = applied_revision_ = std::max(seen_revision_, revision);
    applied_state_ = state;
    core::logInfo("fleet_state_seeded", {{"key", stateKey()}, {"revision", revision}});
    registerInstance();
  });
}

bool FleetSync::applyFromEtcd(const std::string& value, int64_t mod_revision,
                              std::function<void()> done) {
  const bool waited_for = static_cast<bool>(done);
  auto after_publish = [this, done = std::move(done)](bool published) {
    if (published) {
      registerInstance();
      waits_.check();  // this instance's own part of the pending ?wait=all
    }
    if (done) done();
  };
  if (mod_revision <= applied_revision_ && !local_changes_) {
    // Applied already (this instance's own change coming back through the watch, or a
    // reconnect's read of what it has). Workers run tasks in order: this ack follows the
    // publish of that state.
    if (waited_for) {
      publisher_.runOnAll(
          "fleet_barrier", [](Worker&) {},
          [after_publish](const absl::Status&) { after_publish(false); });
    }
    return true;
  }
  seen_revision_ = std::max(seen_revision_, mod_revision);
  nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  absl::Status valid = parsed.is_discarded() ? absl::InvalidArgumentError("the value is not JSON")
                                             : validate(parsed);
  absl::StatusOr<std::vector<std::string>> restored =
      valid.ok() ? state_.traffic.restore(parsed, *state_.config)
                 : absl::StatusOr<std::vector<std::string>>(valid);
  if (!restored.ok()) {
    if (refused_.is_null() || etcdInt64(refused_, "revision") != mod_revision) {
      ++refused_total_;
      refused_ = {{"revision", mod_revision},
                  {"error", std::string(restored.status().message())},
                  {"at", timeText(absl::Now())}};
      core::logError("fleet_state_refused",
                     {{"revision", mod_revision},
                      {"error", restored.status().message()},
                      {"detail", absl::StrCat("keeping the last good state (revision ",
                                              applied_revision_, ")")}});
      registerInstance();  // says so to the fleet (?wait=all lists it as refused)
    }
    after_publish(false);
    return false;
  }
  bool backends_changed = false;
  std::vector<std::pair<std::string, std::string>> to_recheck;
  if (parsed.contains("backends")) {
    to_recheck = applyFleetBackends(parsed["backends"], state_.backend_states, &backends_changed);
  }
  applied_state_ = std::move(parsed);
  applied_revision_ = mod_revision;
  refused_ = nullptr;
  local_changes_ = false;
  saveState(state_);  // a restart without etcd comes back on the fleet's last state
  if (loop_ == nullptr) {
    // At start: the snapshot is built once the rest of the state is loaded.
    core::logInfo("fleet_state_loaded", {{"revision", mod_revision}, {"routes", *restored}});
    return true;
  }
  state_.rebuildSnapshot();
  const uint64_t generation = state_.snapshot->generation;
  core::logInfo("fleet_state_applied",
                {{"revision", mod_revision},
                 {"generation", generation},
                 {"routes", *restored},
                 {"backends", applied_state_.value("backends", nlohmann::json())},
                 {"backends_changed", backends_changed}});
  for (const auto& [pool, address] : to_recheck) {
    if (recheck_) recheck_(pool, address);
  }
  publisher_.publish(state_.snapshot, [after_publish](const absl::Status& published) {
    after_publish(published.ok());
  });
  return true;
}

void FleetSync::change(const char* event, const std::string& route, nlohmann::json body,
                       std::optional<absl::Duration> wait_all, admin::Responder respond) {
  const nlohmann::json desired = stateJson();
  // Back to the fleet's state: this instance changes only once etcd took the change.
  state_.traffic.restore(applied_state_, *state_.config).IgnoreError();
  body["route"] = route;
  std::string event_name = event;
  write(
      desired, wait_all,
      [this, event_name, body = std::move(body)](int64_t revision,
                                                 admin::Responder reply_to) mutable {
        body["fleet_revision"] = revision;
        body["generation"] = state_.snapshot->generation;
        core::logInfo(event_name.c_str(), body);
        reply_to(admin::jsonReply(200, std::move(body)));
      },
      std::move(respond));
}

void FleetSync::changeBackends(nlohmann::json backends, std::optional<absl::Duration> wait_all,
                               Applied applied, admin::Responder respond) {
  nlohmann::json desired = applied_state_.is_object() ? applied_state_ : stateJson();
  desired["backends"] = std::move(backends);
  write(std::move(desired), wait_all, std::move(applied), std::move(respond));
}

void FleetSync::write(nlohmann::json desired, std::optional<absl::Duration> wait_all,
                      Applied applied, admin::Responder respond) {
  if (!connected_) {
    respond(admin::errorReply(
        503,
        absl::StrCat("etcd is unreachable (since ", timeText(connected_since_), ": ", last_error_,
                     "); the fleet's state cannot change now. Retry once etcd is back, or add "
                     "local=1 to change this instance alone")));
    return;
  }
  // ?wait=all: the answer waits for the whole fleet (fleet_waits.h).
  if (wait_all.has_value() && *wait_all <= absl::ZeroDuration()) wait_all = config_.request_timeout;
  const std::string key = EtcdClient::base64(stateKey());
  const int64_t read_revision = seen_revision_;
  nlohmann::json txn = {
      {"compare",
       {{{"key", key},
         {"result", "EQUAL"},
         {"target", "MOD"},
         {"mod_revision", std::to_string(read_revision)}}}},
      {"success",
       {{{"request_put", {{"key", key}, {"value", EtcdClient::base64(desired.dump())}}}}}}};
  client_->call(
      "/v3/kv/txn", txn,
      [this, applied = std::move(applied), respond = std::move(respond), desired, read_revision,
       wait_all](absl::StatusOr<nlohmann::json> answer) mutable {
        if (!answer.ok()) {
          respond(admin::errorReply(
              503, absl::StrCat("etcd did not take the change: ", answer.status().message(),
                                "; nothing changed")));
          lost(std::string(answer.status().message()));
          return;
        }
        if (!answer->value("succeeded", false)) {
          ++conflicts_total_;
          respond(admin::errorReply(
              409, absl::StrCat("conflict: the fleet's state changed since this instance "
                                "read it (revision ",
                                read_revision,
                                "); nothing changed. Check GET /admin/status and retry")));
          return;
        }
        const int64_t revision = etcdInt64(answer->value("header", nlohmann::json()), "revision");
        if (wait_all.has_value()) respond = waits_.waitingFor(revision, *wait_all, respond);
        applyFromEtcd(
            desired.dump(), revision,
            [revision, applied = std::move(applied), respond = std::move(respond)]() mutable {
              applied(revision, std::move(respond));
            });
      });
}

void FleetSync::lost(const std::string& reason) {
  if (closed_) return;
  connecting_ = false;
  register_again_ = false;  // the reconnect registers anew
  last_error_ = reason;
  if (watch_id_ != 0) client_->cancel(std::exchange(watch_id_, 0));
  uv_timer_stop(keepalive_timer_.get());
  if (connected_) {
    connected_ = false;
    connected_since_ = absl::Now();
    core::logWarn("fleet_disconnected",
                  {{"error", reason},
                   {"detail",
                    "serving the last state; fleet changes answer 503 until etcd is "
                    "back"}});
  }
  uv_timer_start(
      reconnect_timer_.get(),
      [](uv_timer_t* timer) { static_cast<FleetSync*>(timer->data)->connect(); },
      static_cast<uint64_t>(absl::ToInt64Milliseconds(config_.reconnect_interval)), 0);
}

nlohmann::json FleetSync::statusJson() const {
  nlohmann::json instances = nlohmann::json::array();
  bool all_applied = connected_ && instances_.count(instance_id_) != 0;
  for (const auto& [id, registration] : instances_) {
    const int64_t applied = etcdInt64(registration, "applied_revision");
    all_applied = all_applied && applied == seen_revision_;
    instances.push_back({{"id", id},
                         {"admin", registration.value("admin", "")},
                         {"version", registration.value("version", "")},
                         {"applied_revision", applied},
                         {"self", id == instance_id_}});
  }
  return {{"instance_id", instance_id_},
          {"prefix", config_.prefix},
          {"etcd", client_ != nullptr ? client_->endpoint() : ""},
          {"connected", connected_},
          {"since", timeText(connected_since_)},
          {"last_error", connected_ ? "" : last_error_},
          {"revision", applied_revision_},
          {"latest_revision", seen_revision_},
          {"last_sync", timeText(last_sync_)},
          {"local_changes", local_changes_},
          {"instances", instances},
          {"all_applied", all_applied},
          {"refused", refused_},
          {"conflicts", conflicts_total_}};
}

void FleetSync::collectMetrics(std::vector<prometheus::MetricFamily>* out) const {
  using prometheus::MetricType;
  // Rounded to the millisecond, as this figure has always been written.
  const double last_sync =
      last_sync_ == absl::InfinitePast()
          ? 0
          : std::round(absl::ToDoubleMilliseconds(last_sync_ - absl::UnixEpoch())) / 1000;
  admin::addUnlabeledFamily(out, "switchyard_fleet_connected",
                            "1 while this instance reaches etcd (fleet mode)", MetricType::Gauge,
                            connected_ ? 1 : 0);
  admin::addUnlabeledFamily(out, "switchyard_fleet_revision",
                            "etcd mod_revision of the fleet state this instance applied",
                            MetricType::Gauge, static_cast<double>(applied_revision_));
  admin::addUnlabeledFamily(out, "switchyard_fleet_last_sync_timestamp_seconds",
                            "When etcd last answered (Unix time)", MetricType::Gauge, last_sync);
  admin::addUnlabeledFamily(out, "switchyard_fleet_instances", "Live instances registered in etcd",
                            MetricType::Gauge, static_cast<double>(instances_.size()));
  admin::addUnlabeledFamily(out, "switchyard_fleet_states_refused_total",
                            "Fleet states refused (pools this file lacks)", MetricType::Counter,
                            static_cast<double>(refused_total_));
  admin::addUnlabeledFamily(out, "switchyard_fleet_conflicts_total",
                            "Changes refused for a concurrent change (409)", MetricType::Counter,
                            static_cast<double>(conflicts_total_));
}

}  // namespace sy::proxy::control
