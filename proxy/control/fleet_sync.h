#pragma once

// Fleet mode ([fleet], issue 21): the runtime traffic state of several instances lives in etcd
// under the fleet's prefix, so that a change made on any instance reaches all of them.
//
//   PREFIX/state          the traffic state (the state file's "version"/"routes" JSON) and the
//                         backends' admin states ("backends", see fleet_backends.h)
//   PREFIX/instances/ID   one per live instance, under its lease: id, admin address, version,
//                         the state revision it applied
//
// A change is a compare-and-swap on the mod_revision of PREFIX/state this instance last read:
// a change racing another one loses with a conflict (409) and changes nothing. Every instance
// watches the prefix and publishes each new state to its workers in one snapshot. A state that
// names a pool this instance's file lacks is refused (log, metric, status) and the last good one
// kept. Cut off from etcd, the instance serves its last state, refuses fleet changes (503) and,
// once etcd answers again, reads everything and watches again. Control thread only.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admin/control_plane.h"
#include "core/uv_handle.h"
#include "nlohmann/json.hpp"
#include "prometheus/metric_family.h"
#include "proxy/control/control_state.h"
#include "proxy/control/etcd_client.h"
#include "proxy/control/fleet_waits.h"
#include "proxy/control/publisher.h"
#include "routing/config/model.h"

namespace sy::proxy::control {

class FleetSync {
 public:
  FleetSync(ControlState& state, Publisher& publisher);
  ~FleetSync();
  FleetSync(const FleetSync&) = delete;
  FleetSync& operator=(const FleetSync&) = delete;

  bool enabled() const { return client_ != nullptr; }

  // Before the workers start, after the state file was read: with [fleet], reads the fleet's
  // state from etcd (blocking, bounded by request_timeout per endpoint) and applies it, so that
  // the instance comes up on the fleet's state; unreachable, it starts on its file's. An error
  // only for [fleet] settings this instance cannot use (fleetEtcdOptions): the start fails.
  absl::Status loadAtStart();
  // Registers the instance and watches the prefix. `admin_address` goes into the registration,
  // and names the instance when [fleet] instance_id is not set.
  void start(uv_loop_t* loop, const std::string& admin_address);
  void close();

  // A traffic change already made to state.traffic: written to etcd instead of applied here
  // (the local state goes back to the fleet's until etcd accepted it), then applied and
  // published; `respond` gets `body` with the generation and the fleet revision once this
  // instance's workers route by it, 409 on a conflict, 503 while etcd is unreachable.
  // `wait_all` (admin::ChangeScope): the answer waits until every live instance applied the
  // change, at most that long (zero: request_timeout).
  void change(const char* event, const std::string& route, nlohmann::json body,
              std::optional<absl::Duration> wait_all, admin::Responder respond);
  // A change made to this instance alone (local=1): the next state from etcd replaces it.
  void changedLocally() { local_changes_ = true; }

  // The backends' admin states of the fleet state in force (fleet_backends.h).
  nlohmann::json fleetBackends() const;
  // Once etcd took a change and this instance's workers route by it: the fleet revision that
  // made it, and where the answer goes.
  using Applied = std::function<void(int64_t revision, admin::Responder respond)>;
  // Backend admin states (drain, disable, enable): `backends` replaces the fleet's with the same
  // compare-and-swap as change(), and `wait_all` as there; `applied` answers; `respond` gets the
  // 409 or 503.
  void changeBackends(nlohmann::json backends, std::optional<absl::Duration> wait_all,
                      Applied applied, admin::Responder respond);
  // Asks a backend back from maintenance to be health-checked now.
  void setRecheck(std::function<void(const std::string& pool, const std::string& address)> fn) {
    recheck_ = std::move(fn);
  }

  // The "fleet" object of /admin/status.
  nlohmann::json statusJson() const;
  // The switchyard_fleet_* families of /metrics.
  void collectMetrics(std::vector<prometheus::MetricFamily>* out) const;

  // For the parts of fleet mode that keep keys of their own under the prefix (the leader
  // election, the published rollout figures: fleet_election.h, fleet_figures.h).
  struct Watcher {
    // A full read of the prefix starts (a (re)connection): the keys it holds follow as on_key.
    std::function<void()> on_reset;
    // Every key of the prefix read or watched, PREFIX/state included; `kv` as etcd gives it
    // (base64 key and value, int64 fields as strings).
    std::function<void(const std::string& key, const nlohmann::json& kv, bool deleted)> on_key;
  };
  void addWatcher(Watcher watcher) { watchers_.push_back(std::move(watcher)); }
  // More of the runtime state stored with the traffic state in PREFIX/state, under `name`
  // (the rollouts): written with every change, so that it and the traffic move in one CAS.
  void setExtraState(std::string name, std::function<nlohmann::json()> extra) {
    extra_state_name_ = std::move(name);
    extra_state_ = std::move(extra);
  }
  EtcdClient* etcd() const { return client_.get(); }
  bool connected() const { return connected_; }
  const std::string& leaseId() const { return lease_id_; }
  const std::string& instanceId() const { return instance_id_; }
  const std::string& adminAddress() const { return admin_address_; }
  const routing::config::FleetConfig& config() const { return config_; }

 private:
  // Writes `desired` (the whole fleet state) with the compare-and-swap on the revision read;
  // then as change() says.
  void write(nlohmann::json desired, std::optional<absl::Duration> wait_all, Applied applied,
             admin::Responder respond);
  // At a clean shutdown: the registration goes at once, not lease_ttl later.
  void revokeLease();
  // Reads the whole prefix, then registers and watches from the revision read.
  void connect();
  void readAll();
  void seed();
  void grantLease();
  void registerInstance();
  void watch(int64_t from_revision);
  // Refreshes the lease every lease_ttl / 3 from now on.
  void startKeepAlive();
  void keepAlive();
  // Something failed: etcd counts as unreachable until a full read succeeds again.
  void lost(const std::string& reason);
  void onWatchMessage(const nlohmann::json& message);
  void onKv(const nlohmann::json& kv, bool deleted);
  // Applies the state JSON `value` read at `mod_revision`; `done` (optional) once published.
  // False when refused (pools this file lacks) or malformed.
  bool applyFromEtcd(const std::string& value, int64_t mod_revision,
                     std::function<void()> done = nullptr);
  // The fleet's part of the runtime state: routes (the traffic state JSON).
  nlohmann::json stateJson() const;
  absl::Status validate(const nlohmann::json& fleet_state) const;
  void synced() { last_sync_ = absl::Now(); }
  std::string stateKey() const { return config_.prefix + "/state"; }
  std::string instancesPrefix() const { return config_.prefix + "/instances/"; }

  ControlState& state_;
  Publisher& publisher_;
  routing::config::FleetConfig config_;
  std::unique_ptr<EtcdClient> client_;
  std::function<void(const std::string&, const std::string&)> recheck_;
  FleetWaits waits_{[this] {
    return FleetWaits::Fleet{&instances_, instance_id_, applied_revision_};
  }};
  uv_loop_t* loop_ = nullptr;
  core::UvHandle<uv_timer_t> reconnect_timer_;
  core::UvHandle<uv_timer_t> keepalive_timer_;
  std::string instance_id_;
  std::string admin_address_;
  bool connected_ = false;
  bool connecting_ = false;
  bool closed_ = false;
  bool local_changes_ = false;
  bool registering_ = false;                  // a registration put is in flight
  bool register_again_ = false;               // and the applied revision changed since it was sent
  absl::Time connected_since_ = absl::Now();  // or disconnected since, when !connected_
  absl::Time last_sync_ = absl::InfinitePast();
  std::string last_error_;
  // mod_revision of PREFIX/state: the latest one seen (what a change compares with) and the one
  // whose state this instance applied and published.
  int64_t seen_revision_ = 0;
  int64_t applied_revision_ = 0;
  bool state_key_exists_ = false;
  nlohmann::json applied_state_;  // the fleet state in force here (to undo a refused change)
  std::string lease_id_;
  uint64_t watch_id_ = 0;
  std::map<std::string, nlohmann::json> instances_;  // id -> registration
  nlohmann::json refused_;                           // the last state refused, null when none
  uint64_t refused_total_ = 0;
  uint64_t conflicts_total_ = 0;
  std::vector<Watcher> watchers_;
  std::string extra_state_name_;
  std::function<nlohmann::json()> extra_state_;
};

}  // namespace sy::proxy::control
