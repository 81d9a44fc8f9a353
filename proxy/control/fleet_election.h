#pragma once

// Fleet mode's leader election (issue 21): the automated rollouts run on one instance of the
// fleet at a time, the holder of PREFIX/leader. The key is created with a transaction that
// succeeds only while it does not exist (create_revision == 0), under the instance's lease:
// when the leader dies, its lease expires and etcd deletes the key; every other instance sees
// the delete in its watch and tries again, and exactly one transaction wins.
//
// An instance leads only while it reaches etcd: cut off, it stops leading at once (its lease
// may expire meanwhile and another instance take over); back, it leads again only if the key is
// still its own under its current lease. Control thread only.

#include <uv.h>

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "core/uv_handle.h"
#include "nlohmann/json.hpp"
#include "proxy/control/fleet_sync.h"

namespace sy::proxy::control {

class FleetElection {
 public:
  explicit FleetElection(FleetSync& fleet);
  FleetElection(const FleetElection&) = delete;
  FleetElection& operator=(const FleetElection&) = delete;

  // `on_change(true)` when this instance becomes the leader, `on_change(false)` when it stops.
  void setOnChange(std::function<void(bool leading)> on_change) {
    on_change_ = std::move(on_change);
  }
  void start(uv_loop_t* loop);
  void close();

  bool leading() const { return leading_; }
  // The leader's instance id; empty while nobody holds the key (or it is not known yet).
  const std::string& leader() const { return leader_; }
  // Added to the "fleet" object of /admin/status: leader, leader_admin, leading, leading_since.
  void addStatus(nlohmann::json& fleet) const;

 private:
  std::string key() const { return fleet_.config().prefix + "/leader"; }
  void tick();
  void campaign();
  void onKey(const nlohmann::json& kv, bool deleted);
  void setLeading(bool leading);

  FleetSync& fleet_;
  std::function<void(bool)> on_change_;
  core::UvHandle<uv_timer_t> timer_;
  bool closed_ = false;
  bool campaigning_ = false;
  bool leading_ = false;
  std::string leader_;        // the holder's id
  std::string leader_admin_;  // and admin address
  absl::Time leading_since_ = absl::InfinitePast();
};

}  // namespace sy::proxy::control
