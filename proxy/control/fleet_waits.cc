#include "proxy/control/fleet_waits.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace sy::proxy::control {
namespace {

int64_t appliedRevisionOf(const nlohmann::json& registration) {
  const auto found = registration.find("applied_revision");
  if (found == registration.end()) return 0;
  if (found->is_number_integer()) return found->get<int64_t>();
  return 0;
}

}  // namespace

void FleetWaits::start(uv_loop_t* loop) {
  timer_.init(loop, uv_timer_init);
  timer_.get()->data = this;
}

void FleetWaits::close() {
  closed_ = true;
  for (auto& wait : waits_) wait->respond(admin::errorReply(503, "shutting down"));
  waits_.clear();
  timer_.reset();
}

admin::Responder FleetWaits::waitingFor(int64_t revision, absl::Duration timeout,
                                        admin::Responder respond) {
  return [this, revision, timeout, respond = std::move(respond)](admin::Reply reply) mutable {
    if (reply.status != 200 || closed_) return respond(std::move(reply));
    auto wait = std::make_unique<Wait>();
    wait->revision = revision;
    wait->timeout = timeout;
    wait->deadline = absl::Now() + timeout;
    wait->reply = std::move(reply);
    wait->respond = std::move(respond);
    waits_.push_back(std::move(wait));
    check();
  };
}

void FleetWaits::check() {
  const absl::Time now = absl::Now();
  const Fleet fleet = fleet_();
  for (auto it = waits_.begin(); it != waits_.end();) {
    Wait& wait = **it;
    nlohmann::json applied = nlohmann::json::array();
    nlohmann::json laggards = nlohmann::json::array();
    std::vector<std::string> laggard_ids;
    bool self_seen = false;
    if (fleet.instances != nullptr) {
      for (const auto& [id, registration] : *fleet.instances) {
        const bool self = id == fleet.self_id;
        self_seen = self_seen || self;
        const int64_t revision = self ? fleet.self_applied : appliedRevisionOf(registration);
        if (revision >= wait.revision) {
          applied.push_back(id);
        } else {
          nlohmann::json laggard = {{"id", id},
                                    {"admin", registration.value("admin", "")},
                                    {"applied_revision", revision}};
          // It refused that state (its file lacks a pool or backend the state names).
          if (registration.value("refused_revision", int64_t{0}) >= wait.revision) {
            laggard["refused"] = true;
          }
          laggards.push_back(std::move(laggard));
          laggard_ids.push_back(id);
        }
      }
    }
    if (!self_seen && fleet.self_applied >= wait.revision) applied.push_back(fleet.self_id);
    const bool converged = laggards.empty();
    if (!converged && now < wait.deadline) {
      ++it;
      continue;
    }
    admin::Reply reply = std::move(wait.reply);
    reply.body["fleet_wait"] = {{"revision", wait.revision},
                                {"applied", applied},
                                {"laggards", laggards},
                                {"timeout_seconds", absl::ToDoubleSeconds(wait.timeout)}};
    if (!converged) {
      reply.status = 504;
      reply.body["error"] = absl::StrCat(
          "the change is made (fleet revision ", wait.revision, ") but ", laggard_ids.size(),
          " instance(s) did not report it within ", absl::FormatDuration(wait.timeout), ": ",
          absl::StrJoin(laggard_ids, ", "),
          ". They apply it once they reach etcd again, or leave the fleet when their lease "
          "expires; see GET /admin/status");
      reply.body["laggards"] = laggards;
    }
    admin::Responder respond = std::move(wait.respond);
    it = waits_.erase(it);
    respond(std::move(reply));
  }
  armTimer(now);
}

void FleetWaits::armTimer(absl::Time now) {
  if (!timer_) return;
  if (waits_.empty()) {
    uv_timer_stop(timer_.get());
    return;
  }
  absl::Time nearest = absl::InfiniteFuture();
  for (const auto& wait : waits_) nearest = std::min(nearest, wait->deadline);
  // Rounded up, and at least 1 ms: the loop's clock may lag, and a timer that fires a little
  // early only re-arms for the rest.
  const int64_t due_ms = std::max<int64_t>(
      1, absl::ToInt64Milliseconds(absl::Ceil(nearest - now, absl::Milliseconds(1))));
  uv_timer_start(
      timer_.get(), [](uv_timer_t* timer) { static_cast<FleetWaits*>(timer->data)->check(); },
      static_cast<uint64_t>(due_ms), 0);
}

}  // namespace sy::proxy::control
