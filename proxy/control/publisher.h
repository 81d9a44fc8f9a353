#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/dispatcher.h"
#include "proxy/worker.h"
#include "routing/snapshot.h"

namespace sy::proxy::control {

// The one way the control thread reaches the workers (as Envoy's runOnAllThreads): run a task on
// every worker's loop and, when asked, learn on the control loop that every worker ran it.
// Every admin change that must hold for the next request (a switch, a reload, a backend drain)
// is answered from that acknowledgement.
//
// A post fails only when a worker's loop has stopped. Waiting for that worker's ack would leave
// the caller hanging until its client gave up, so a failed post fails the whole call at once
// (`done` gets the error), with a `worker_post_failed` log line and a count.
class Publisher {
 public:
  using Done = std::function<void(const absl::Status&)>;
  using Task = std::function<void(Worker&)>;

  // `control` is the control loop's dispatcher (acks come back through it); `workers` is owned
  // by the caller and may grow while workers start.
  Publisher(core::Dispatcher& control, const std::vector<std::unique_ptr<Worker>>& workers);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Control thread. Runs `task` on every worker. `done` (optional) runs exactly once on the
  // control thread: OK once every worker ran the task (at once when there is no worker), or the
  // error of the first failed post, before runOnAll returns. `what` names the task in the log.
  void runOnAll(const char* what, Task task, Done done = nullptr);
  // Control thread. Hands `snapshot` to every worker; `done` as for runOnAll.
  void publish(routing::ConfigSnapshotPtr snapshot, Done done);

  // Control thread. The workers are being stopped: a failed post is expected from here on (it
  // is reported as kUnavailable, "shutting down", and logged at debug level only).
  void setStopping() { stopping_ = true; }
  // Posts that failed so far.
  uint64_t failedPosts() const { return failed_posts_; }

 private:
  core::Dispatcher& control_;
  const std::vector<std::unique_ptr<Worker>>& workers_;
  uint64_t failed_posts_ = 0;
  bool stopping_ = false;
};

}  // namespace sy::proxy::control
