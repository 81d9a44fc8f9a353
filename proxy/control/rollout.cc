#include "proxy/control/rollout.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sy::proxy::control {

const char* phaseName(RolloutPhase phase) {
  switch (phase) {
    case RolloutPhase::kProgressing:
      return "progressing";
    case RolloutPhase::kPaused:
      return "paused";
    case RolloutPhase::kSucceeded:
      return "succeeded";
    case RolloutPhase::kRolledBack:
      return "rolled_back";
    case RolloutPhase::kAborted:
      return "aborted";
  }
  return "aborted";
}

Rollout::Rollout(RolloutSpec spec, std::string baseline_pool)
    : spec_(std::move(spec)), baseline_(std::move(baseline_pool)) {}

RolloutAction Rollout::start(uint64_t now_ms) {
  started_ms_ = now_ms;
  phase_ = RolloutPhase::kProgressing;
  return enterStep(0, now_ms);
}

RolloutAction Rollout::enterStep(uint32_t step, uint64_t now_ms) {
  step_ = step;
  weight_ = spec_.steps[step].weight;
  step_started_ms_ = now_ms;
  failures_in_a_row_ = 0;
  gate_pending_ = false;
  return {RolloutAction::Kind::kSetWeight, weight_};
}

RolloutAction Rollout::finish(RolloutPhase phase, RolloutAction::Kind kind,
                              const std::string& reason, uint64_t now_ms) {
  phase_ = phase;
  reason_ = reason;
  ended_ms_ = now_ms;
  gate_pending_ = false;
  if (kind == RolloutAction::Kind::kRollBack) weight_ = 0;
  return {kind, weight_};
}

RolloutAction Rollout::succeed(uint64_t now_ms) {
  if (spec_.on_success == OnSuccess::kPromote) {
    return finish(RolloutPhase::kSucceeded, RolloutAction::Kind::kPromote, "", now_ms);
  }
  return finish(RolloutPhase::kSucceeded, RolloutAction::Kind::kNone, "", now_ms);
}

RolloutAction Rollout::onWindow(uint64_t now_ms, const WindowFigures& canary,
                                const WindowFigures& baseline) {
  if (!running()) return {};
  WindowRecord record;
  record.at_ms = now_ms;
  record.step = step_;
  record.weight = weight_;
  record.canary_requests = canary.requests;
  record.canary_errors = canary.errors;
  record.baseline_requests = baseline.requests;
  record.baseline_errors = baseline.errors;
  record.canary_p50 = quantileSeconds(canary.duration, 0.5);
  record.canary_p99 = quantileSeconds(canary.duration, 0.99);
  record.baseline_p50 = quantileSeconds(baseline.duration, 0.5);
  record.baseline_p99 = quantileSeconds(baseline.duration, 0.99);
  record.result = analyseWindow(canary, baseline, spec_.rules, /*baseline_has_traffic=*/
                                weight_ < 100);
  record.paused = phase_ == RolloutPhase::kPaused;
  const Verdict verdict = record.result.verdict;
  const std::string reason = record.result.reason;
  windows_.push_back(std::move(record));
  if (windows_.size() > kWindowsKept) windows_.pop_front();
  if (phase_ == RolloutPhase::kPaused) return {};

  switch (verdict) {
    case Verdict::kFail:
      ++failed_;
      if (++failures_in_a_row_ >= spec_.failure_limit) {
        return finish(RolloutPhase::kRolledBack, RolloutAction::Kind::kRollBack,
                      absl::StrCat(failures_in_a_row_, " failed analysis windows in a row at ",
                                   weight_, "%: ", reason),
                      now_ms);
      }
      return {};
    case Verdict::kInconclusive:
      ++inconclusive_;
      // Neither a pass nor a failure: the run of failures neither grows nor ends.
      if (spec_.on_inconclusive == OnInconclusive::kWait) return {};
      break;
    case Verdict::kPass:
      ++passed_;
      failures_in_a_row_ = 0;
      break;
  }
  if (now_ms - step_started_ms_ < spec_.steps[step_].hold_ms) return {};
  return advance(now_ms);
}

RolloutAction Rollout::advance(uint64_t now_ms) {
  if (!spec_.webhooks.gate) return next(now_ms);
  if (gate_pending_) return {};  // asked already: the answer decides
  gate_pending_ = true;
  ++gate_ticket_;
  return {RolloutAction::Kind::kAskGate, weight_};
}

RolloutAction Rollout::next(uint64_t now_ms) {
  if (step_ + 1 == spec_.steps.size()) return succeed(now_ms);
  return enterStep(step_ + 1, now_ms);
}

RolloutAction Rollout::onGate(uint64_t ticket, uint64_t now_ms, bool go) {
  if (!gate_pending_ || ticket != gate_ticket_) return {};
  gate_pending_ = false;
  if (phase_ != RolloutPhase::kProgressing || !go) return {};
  return next(now_ms);
}

void Rollout::recordWebhook(WebhookRecord record) {
  webhook_calls_.push_back(std::move(record));
  if (webhook_calls_.size() > kWindowsKept) webhook_calls_.pop_front();
}

absl::StatusOr<RolloutAction> Rollout::pause(uint64_t /*now_ms*/) {
  if (phase_ != RolloutPhase::kProgressing) {
    return absl::FailedPreconditionError(
        absl::StrCat("the rollout is ", phaseName(phase_), ", not progressing"));
  }
  phase_ = RolloutPhase::kPaused;
  gate_pending_ = false;  // an answer still on its way decides nothing
  return RolloutAction{};
}

absl::StatusOr<RolloutAction> Rollout::resume(uint64_t now_ms) {
  if (phase_ != RolloutPhase::kPaused) {
    return absl::FailedPreconditionError(
        absl::StrCat("the rollout is ", phaseName(phase_), ", not paused"));
  }
  phase_ = RolloutPhase::kProgressing;
  step_started_ms_ = now_ms;  // the step's hold starts again
  failures_in_a_row_ = 0;
  return RolloutAction{};
}

absl::StatusOr<RolloutAction> Rollout::abort(uint64_t now_ms, const std::string& reason) {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the rollout is ", phaseName(phase_), " already"));
  }
  return finish(RolloutPhase::kAborted, RolloutAction::Kind::kRollBack, reason, now_ms);
}

absl::StatusOr<RolloutAction> Rollout::promoteNow(uint64_t now_ms) {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the rollout is ", phaseName(phase_), " already"));
  }
  return finish(RolloutPhase::kSucceeded, RolloutAction::Kind::kPromote, "promoted by an operator",
                now_ms);
}

absl::StatusOr<RolloutAction> Rollout::skip(uint64_t now_ms) {
  if (phase_ != RolloutPhase::kProgressing) {
    return absl::FailedPreconditionError(
        absl::StrCat("the rollout is ", phaseName(phase_), ", not progressing"));
  }
  return next(now_ms);
}

namespace {

nlohmann::json optionalMs(const std::optional<double>& seconds) {
  return seconds ? nlohmann::json(*seconds * 1000.0) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json Rollout::toJson(uint64_t now_ms) const {
  nlohmann::json windows = nlohmann::json::array();
  for (const WindowRecord& window : windows_) {
    nlohmann::json checks = nlohmann::json::array();
    for (const CheckResult& check : window.result.checks) {
      checks.push_back({{"rule", check.rule},
                        {"verdict", verdictName(check.verdict)},
                        {"canary", check.canary},
                        {"baseline", check.baseline},
                        {"limit", check.limit},
                        {"detail", check.detail}});
    }
    windows.push_back({{"at_ms_ago", now_ms >= window.at_ms ? now_ms - window.at_ms : 0},
                       {"step", window.step},
                       {"weight", window.weight},
                       {"verdict", window.paused ? "paused" : verdictName(window.result.verdict)},
                       {"reason", window.result.reason},
                       {"canary",
                        {{"requests", window.canary_requests},
                         {"errors", window.canary_errors},
                         {"p50_ms", optionalMs(window.canary_p50)},
                         {"p99_ms", optionalMs(window.canary_p99)}}},
                       {"baseline",
                        {{"requests", window.baseline_requests},
                         {"errors", window.baseline_errors},
                         {"p50_ms", optionalMs(window.baseline_p50)},
                         {"p99_ms", optionalMs(window.baseline_p99)}}},
                       {"checks", checks}});
  }
  nlohmann::json calls = nlohmann::json::array();
  for (const WebhookRecord& call : webhook_calls_) {
    calls.push_back(
        {{"at_ms_ago", now_ms >= call.at_ms ? now_ms - call.at_ms : 0},
         {"hook", call.hook},
         {"step", call.step},
         {"weight", call.weight},
         {"result", call.result},
         {"status", call.status == 0 ? nlohmann::json(nullptr) : nlohmann::json(call.status)},
         {"attempts", call.attempts},
         {"detail", call.detail}});
  }
  const uint64_t in_step = now_ms >= step_started_ms_ ? now_ms - step_started_ms_ : 0;
  return {{"route", spec_.route},
          {"pool", spec_.pool},
          {"baseline", baseline_},
          {"state", phaseName(phase_)},
          {"step", step_},
          {"steps", spec_.steps.size()},
          {"weight", weight_},
          {"step_elapsed_ms", running() ? nlohmann::json(in_step) : nlohmann::json(nullptr)},
          {"failures_in_a_row", failures_in_a_row_},
          {"windows_passed", passed_},
          {"windows_failed", failed_},
          {"windows_inconclusive", inconclusive_},
          {"reason", reason_.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason_)},
          {"spec", spec_.toJson()},
          {"windows", windows},
          {"gate_pending", gate_pending_},
          {"webhook_calls", calls}};
}

absl::StatusOr<Rollout> Rollout::fromJson(const nlohmann::json& saved, uint64_t now_ms,
                                          bool restart) {
  if (!saved.is_object() || !saved.contains("spec") || !saved.contains("state") ||
      !saved.contains("step") || !saved.contains("baseline")) {
    return absl::InvalidArgumentError("a saved rollout needs spec, state, step and baseline");
  }
  absl::StatusOr<RolloutSpec> spec = parseRolloutSpec(saved["spec"], "");
  if (!spec.ok()) return spec.status();
  if (!saved["baseline"].is_string() || !saved["step"].is_number_integer() ||
      saved["step"].get<int64_t>() < 0 || !saved["state"].is_string()) {
    return absl::InvalidArgumentError("a saved rollout's baseline, step or state has a bad type");
  }
  Rollout rollout(std::move(*spec), saved["baseline"].get<std::string>());
  const uint32_t step = saved["step"].get<uint32_t>();
  if (step >= rollout.spec_.steps.size()) {
    return absl::InvalidArgumentError("a saved rollout's step is past its last step");
  }
  const std::string state = saved["state"].get<std::string>();
  rollout.started_ms_ = now_ms;
  if (state == "progressing" || state == "paused") {
    rollout.enterStep(step, now_ms);
    const bool hold = restart && rollout.spec_.on_restart == OnRestart::kHold;
    rollout.phase_ =
        (hold || state == "paused") ? RolloutPhase::kPaused : RolloutPhase::kProgressing;
    return rollout;
  }
  // A finished rollout is kept for the record; its weight is whatever the traffic state says.
  rollout.step_ = step;
  rollout.weight_ = saved.value("weight", 0.0);
  rollout.reason_ = saved["reason"].is_string() ? saved["reason"].get<std::string>() : "";
  if (state == "succeeded") {
    rollout.phase_ = RolloutPhase::kSucceeded;
  } else if (state == "rolled_back") {
    rollout.phase_ = RolloutPhase::kRolledBack;
  } else if (state == "aborted") {
    rollout.phase_ = RolloutPhase::kAborted;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("a saved rollout's state \"", state,
                                                   "\" is not one of progressing, paused, "
                                                   "succeeded, rolled_back, aborted"));
  }
  return rollout;
}

}  // namespace sy::proxy::control
