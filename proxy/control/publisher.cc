#include "proxy/control/publisher.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/thread_role.h"

namespace sy::proxy::control {
namespace {

// What the callers of one runOnAll share: the acks still awaited and the callback, cleared once
// it ran so that late acks after a failure do nothing.
struct Pending {
  size_t remaining = 0;
  Publisher::Done done;

  void finish(const absl::Status& status) {
    if (!done) return;
    Publisher::Done callback = std::move(done);
    done = nullptr;
    callback(status);
  }
};

}  // namespace

Publisher::Publisher(core::Dispatcher& control, const std::vector<std::unique_ptr<Worker>>& workers)
    : control_(control), workers_(workers) {}

void Publisher::runOnAll(const char* what, Task task, Done done) {
  SY_DCHECK_ON_CONTROL_THREAD();
  auto pending = std::make_shared<Pending>();
  pending->remaining = workers_.size();
  pending->done = std::move(done);
  auto shared_task = std::make_shared<const Task>(std::move(task));
  const bool wants_ack = static_cast<bool>(pending->done);
  std::vector<uint32_t> failed;
  for (const auto& worker : workers_) {
    Worker* target = worker.get();
    const bool posted = target->post([this, target, shared_task, pending, wants_ack] {
      SY_DCHECK_ON_WORKER_THREAD();
      (*shared_task)(*target);
      if (!wants_ack) return;
      // The acks reach the control loop in any order; the count is only touched there.
      control_.post([pending] {
        if (--pending->remaining == 0) pending->finish(absl::OkStatus());
      });
    });
    if (!posted) failed.push_back(target->index());
  }
  if (!failed.empty()) {
    failed_posts_ += failed.size();
    const std::string workers = absl::StrJoin(failed, ", ");
    if (stopping_) {
      core::logDebug("worker_post_failed", [&] {
        return nlohmann::json{{"task", what}, {"workers", failed}, {"detail", "workers stopping"}};
      });
      pending->finish(absl::UnavailableError("shutting down"));
      return;
    }
    core::logError("worker_post_failed",
                   {{"task", what},
                    {"workers", failed},
                    {"detail", "the worker's loop has stopped; the change did not reach it"}});
    pending->finish(absl::InternalError(
        absl::StrCat(what, " did not reach worker(s) ", workers,
                     ": their loop has stopped; the other workers may run the change")));
    return;
  }
  if (workers_.empty()) pending->finish(absl::OkStatus());
}

void Publisher::publish(routing::ConfigSnapshotPtr snapshot, Done done) {
  runOnAll(
      "publish", [snapshot = std::move(snapshot)](Worker& worker) { worker.adopt(snapshot); },
      std::move(done));
}

}  // namespace sy::proxy::control
