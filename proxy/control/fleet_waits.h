#pragma once

// ?wait=all in fleet mode (issue 21): an admin change answered only once every live instance of
// the fleet reports the fleet revision that made it (the applied_revision of its registration
// under PREFIX/instances/), or, when the wait runs out, 504 with the same answer plus the list
// of instances that did not ("laggards"). The change itself is made either way: a 504 says the
// fleet has not converged yet, not that nothing changed. Control thread only.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "admin/control_plane.h"
#include "core/uv_handle.h"
#include "nlohmann/json.hpp"

namespace sy::proxy::control {

class FleetWaits {
 public:
  // The live registrations (id -> registration JSON) and this instance's id and applied
  // revision (its own registration may lag behind what it applied).
  struct Fleet {
    const std::map<std::string, nlohmann::json>* instances = nullptr;
    std::string self_id;
    int64_t self_applied = 0;
  };
  using FleetFn = std::function<Fleet()>;

  explicit FleetWaits(FleetFn fleet) : fleet_(std::move(fleet)) {}

  void start(uv_loop_t* loop);
  // Answers the waits still pending (503, shutting down).
  void close();

  // A responder that passes a 200 reply on once every instance applied `revision` (adding
  // "fleet_wait" to its body), or 504 with the laggards after `timeout`; other replies at once.
  admin::Responder waitingFor(int64_t revision, absl::Duration timeout, admin::Responder respond);
  // Answers the pending waits that are done: every instance applied their revision, or their
  // time is up. Called on every registration change (the watch), after every state this
  // instance applies, and by a one-shot timer at the nearest deadline: nothing else can finish
  // a wait, so nothing polls.
  void check();

 private:
  struct Wait {
    int64_t revision = 0;
    absl::Duration timeout;
    absl::Time deadline;
    admin::Reply reply;
    admin::Responder respond;
  };

  // Starts the timer for the nearest deadline (stops it when nothing waits).
  void armTimer(absl::Time now);

  FleetFn fleet_;
  std::vector<std::unique_ptr<Wait>> waits_;
  core::UvHandle<uv_timer_t> timer_;
  bool closed_ = false;
};

}  // namespace sy::proxy::control
