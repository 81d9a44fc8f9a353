#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "admin/control_plane.h"
#include "proxy/control/control_state.h"
#include "proxy/control/publisher.h"
#include "routing/backend_state.h"

namespace sy::proxy::control {

class FleetSync;

// Sets `record`'s admin state to `state` (logged). True when the backend comes back from
// maintenance: its health is unknown again and it needs a check now.
bool setBackendAdminState(health::BackendRecord& record, routing::AdminState state);

// The backend verbs of the admin API: enable, disable and drain one backend or a whole pool,
// and the waits for a drain to end (nothing in flight, no connection open). The admin state is
// published like any change and kept in the state file. Control thread only.
class BackendAdmin {
 public:
  // Asks for a health check now (a backend back from maintenance).
  using RecheckFn = std::function<void(const std::string& pool, const std::string& address)>;

  BackendAdmin(ControlState& state, Publisher& publisher, RecheckFn recheck);
  ~BackendAdmin();
  BackendAdmin(const BackendAdmin&) = delete;
  BackendAdmin& operator=(const BackendAdmin&) = delete;

  void start(uv_loop_t* loop);
  // Fleet mode: a change goes through etcd (fleet_sync.h) unless its scope is local.
  void setFleet(FleetSync* fleet) { fleet_ = fleet; }
  // Answers the waits still pending (503, shutting down) and closes the timer; the loop must
  // run once more to finish the close.
  void close();

  // See admin::ControlPlane::setBackendAdmin.
  void setBackendAdmin(const std::string& pool, const std::string& address,
                       routing::AdminState state, absl::Duration wait,
                       const admin::ChangeScope& scope, admin::Responder respond);
  // Drain waits not answered yet.
  size_t pendingWaits() const { return drain_waits_.size(); }
  // Checks the pending drain waits now (also every 50 ms while any is pending).
  void pollDrainWaits();

 private:
  struct DrainWait {
    std::vector<std::pair<std::string, std::string>> backends;  // pool, address
    absl::Time deadline;
    admin::Responder respond;
  };

  ControlState& state_;
  Publisher& publisher_;
  RecheckFn recheck_;
  FleetSync* fleet_ = nullptr;
  std::vector<std::unique_ptr<DrainWait>> drain_waits_;
  uv_timer_t drain_poll_timer_{};
  bool started_ = false;
};

}  // namespace sy::proxy::control
