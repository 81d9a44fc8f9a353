// The rollout webhooks, Flagger style: the gate asked before each step advance (2xx = go; a
// refusal or a failed call holds the step until the next window asks again) and the
// notification URL told of every state change, in order, one at a time. Neither ever blocks a
// decision of the analysis (a rollback needs no webhook) nor the data path: the calls run on
// the control loop through WebhookClient.

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/control/rollout_controller.h"
#include "proxy/control/state_file.h"

namespace sy::proxy::control {
namespace {

// Notifications waiting behind an unreachable receiver are bounded: the oldest are dropped.
constexpr size_t kNotificationsQueued = 64;

nlohmann::json reasonJson(const Rollout& rollout) {
  return rollout.reason().empty() ? nlohmann::json(nullptr) : nlohmann::json(rollout.reason());
}

}  // namespace

void RolloutController::recordCall(Entry& entry, const char* hook, const WebhookOutcome& outcome,
                                   std::string detail) {
  const Rollout& rollout = entry.rollout;
  state_.metrics.rolloutWebhook(rollout.spec().route, hook, outcome.result());
  if (!outcome.ok) detail = absl::StrCat(detail, ": ", outcome.error);
  entry.rollout.recordWebhook({.at_ms = nowMs(),
                               .hook = hook,
                               .step = rollout.step(),
                               .weight = rollout.weight(),
                               .result = outcome.result(),
                               .status = outcome.status,
                               .attempts = outcome.attempts,
                               .detail = detail});
  if (!outcome.ok) {
    core::logWarn("rollout_webhook_failed", {{"route", rollout.spec().route},
                                             {"hook", hook},
                                             {"result", outcome.result()},
                                             {"attempts", outcome.attempts},
                                             {"detail", detail}});
  }
}

void RolloutController::askGate(Entry& entry) {
  const Rollout& rollout = entry.rollout;
  const RolloutSpec& spec = rollout.spec();
  const bool last = rollout.step() + 1 == spec.steps.size();
  const nlohmann::json body = {
      {"type", "gate"},
      {"route", spec.route},
      {"pool", spec.pool},
      {"baseline", rollout.baselinePool()},
      {"step", rollout.step()},
      {"weight", rollout.weight()},
      {"next_step", last ? nlohmann::json(nullptr) : nlohmann::json(rollout.step() + 1)},
      {"next_weight",
       last ? nlohmann::json(nullptr) : nlohmann::json(spec.steps[rollout.step() + 1].weight)}};
  webhooks_.post(*spec.webhooks.gate, body,
                 [this, route = spec.route, id = entry.id, ticket = rollout.gateTicket()](
                     const WebhookOutcome& outcome) { onGateAnswer(route, id, ticket, outcome); });
}

void RolloutController::onGateAnswer(const std::string& route, uint64_t id, uint64_t ticket,
                                     const WebhookOutcome& outcome) {
  Entry* entry = find(route, id);
  if (entry == nullptr || state_.shutting_down) return;
  Rollout& rollout = entry->rollout;
  const bool last = rollout.step() + 1 == rollout.spec().steps.size();
  const std::string asked =
      last ? "asked to finish" : absl::StrCat("asked to advance to step ", rollout.step() + 1);
  recordCall(*entry, "gate", outcome, outcome.ok ? asked : absl::StrCat(asked, ", held"));
  const RolloutAction action = rollout.onGate(ticket, nowMs(), outcome.ok);
  if (!outcome.ok) {
    saveState(state_);
    return;
  }
  const char* event =
      rollout.phase() == RolloutPhase::kSucceeded ? "rollout_succeeded" : "rollout_step";
  apply(*entry, action, event, admin::ChangeScope{}, nullptr);
}

void RolloutController::notify(Entry& entry, const char* event) {
  const Rollout& rollout = entry.rollout;
  const std::pair<RolloutPhase, uint32_t> now{rollout.phase(), rollout.step()};
  if (entry.notified == now) return;
  entry.notified = now;
  if (!rollout.spec().webhooks.notify) return;
  const RolloutSpec& spec = rollout.spec();
  entry.notify_queue.push_back({{"type", "notify"},
                                {"event", event},
                                {"route", spec.route},
                                {"pool", spec.pool},
                                {"baseline", rollout.baselinePool()},
                                {"state", phaseName(rollout.phase())},
                                {"step", rollout.step()},
                                {"steps", spec.steps.size()},
                                {"weight", rollout.weight()},
                                {"reason", reasonJson(rollout)}});
  if (entry.notify_queue.size() > kNotificationsQueued) {
    WebhookOutcome dropped;
    dropped.error = "too many notifications waiting";
    recordCall(entry, "notify", dropped,
               absl::StrCat("dropped ", entry.notify_queue.front()["event"].get<std::string>()));
    entry.notify_queue.pop_front();
  }
  sendNextNotification(entry);
}

void RolloutController::sendNextNotification(Entry& entry) {
  if (entry.notify_busy || entry.notify_queue.empty()) return;
  entry.notify_busy = true;
  webhooks_.post(
      *entry.rollout.spec().webhooks.notify, entry.notify_queue.front(),
      [this, route = entry.rollout.spec().route, id = entry.id](const WebhookOutcome& outcome) {
        Entry* told = find(route, id);
        if (told == nullptr) return;
        told->notify_busy = false;
        const nlohmann::json sent = std::move(told->notify_queue.front());
        told->notify_queue.pop_front();
        recordCall(*told, "notify", outcome,
                   absl::StrCat("told ", sent["event"].get<std::string>(), " (",
                                sent["state"].get<std::string>(), ", step ",
                                sent["step"].get<uint32_t>(), ")"));
        sendNextNotification(*told);
      });
}

}  // namespace sy::proxy::control
