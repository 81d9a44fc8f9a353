#pragma once

// One canary rollout of one route, as a state machine with simulated time: the control thread
// feeds it analysis windows and operator commands, and carries out the action it returns with
// one publish. It never touches the traffic state itself, so every decision is unit tested
// without a socket or a clock.
//
//   progressing --(failure_limit failed windows in a row)--> rolled_back   (canary weight 0)
//   progressing --(last step held and passed)--> succeeded                 (promote, or hold)
//   progressing <--pause/resume--> paused;  any running state --abort--> aborted (weight 0)
//
// A step advances when its hold has passed and its latest window passed (or, with
// on_inconclusive = advance, was inconclusive). A failed window below the limit holds the step
// until a pass. While paused, windows are recorded but decide nothing; resume restarts the
// step's hold.
//
// With a gate webhook, a step that would advance (to the next step, or to success after the
// last) asks the gate first (action kAskGate) and advances only on its go (onGate). A refusal
// or a failed call holds the step: the next window that would advance asks again. Operator
// commands (skip, promote) are not gated.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proxy/control/rollout_analysis.h"
#include "proxy/control/rollout_spec.h"

namespace sy::proxy::control {

enum class RolloutPhase { kProgressing, kPaused, kSucceeded, kRolledBack, kAborted };
const char* phaseName(RolloutPhase phase);  // "progressing", ..., "rolled_back", "aborted"

// What the control thread must do after an event.
struct RolloutAction {
  enum class Kind {
    kNone,
    kSetWeight,  // canary weight `weight` for the rollout's pool
    kRollBack,   // canary weight 0: every request to the baseline
    kPromote,    // the canary pool becomes the route's active pool
    kAskGate,    // ask the gate webhook (ticket gateTicket()) whether to advance; no publish
  };
  Kind kind = Kind::kNone;
  double weight = 0;
};

struct WindowRecord {
  uint64_t at_ms = 0;  // when the window ended
  uint32_t step = 0;
  double weight = 0;
  uint64_t canary_requests = 0, canary_errors = 0;
  uint64_t baseline_requests = 0, baseline_errors = 0;
  std::optional<double> canary_p50, canary_p99, baseline_p50, baseline_p99;  // seconds
  WindowResult result;
  bool paused = false;  // recorded while paused: decided nothing
};

// One webhook call, as GET /admin/rollouts shows it.
struct WebhookRecord {
  uint64_t at_ms = 0;  // when the call ended
  std::string hook;    // "gate" or "notify"
  uint32_t step = 0;
  double weight = 0;
  std::string result;  // "ok", "rejected" (a non-2xx answer) or "error" (no answer)
  int status = 0;      // the HTTP status, 0 without an answer
  uint32_t attempts = 0;
  std::string detail;  // what was asked or told, and why it failed
};

class Rollout {
 public:
  // At most this many windows are kept for GET /admin/rollouts (the oldest go first).
  static constexpr size_t kWindowsKept = 100;

  Rollout(RolloutSpec spec, std::string baseline_pool);

  // Starts at the first step.
  RolloutAction start(uint64_t now_ms);
  // One analysis window ended with these figures for the canary and the baseline.
  RolloutAction onWindow(uint64_t now_ms, const WindowFigures& canary,
                         const WindowFigures& baseline);

  // Operator commands. Each answers an error (FailedPrecondition) when the rollout is not in a
  // state where it applies, and changes nothing then.
  absl::StatusOr<RolloutAction> pause(uint64_t now_ms);
  absl::StatusOr<RolloutAction> resume(uint64_t now_ms);
  absl::StatusOr<RolloutAction> abort(uint64_t now_ms, const std::string& reason);
  absl::StatusOr<RolloutAction> promoteNow(uint64_t now_ms);
  absl::StatusOr<RolloutAction> skip(uint64_t now_ms);

  // The gate answered the question `ticket` (from the kAskGate action): go advances the step
  // (or ends the rollout after its last), a refusal holds it. An answer to an older question
  // (the step changed, the rollout paused or ended meanwhile) changes nothing.
  RolloutAction onGate(uint64_t ticket, uint64_t now_ms, bool go);
  uint64_t gateTicket() const { return gate_ticket_; }
  bool gatePending() const { return gate_pending_; }
  // Keeps a webhook call for GET /admin/rollouts (the newest kWindowsKept).
  void recordWebhook(WebhookRecord record);
  const std::deque<WebhookRecord>& webhookCalls() const { return webhook_calls_; }

  const RolloutSpec& spec() const { return spec_; }
  const std::string& baselinePool() const { return baseline_; }
  RolloutPhase phase() const { return phase_; }
  bool running() const {
    return phase_ == RolloutPhase::kProgressing || phase_ == RolloutPhase::kPaused;
  }
  uint32_t step() const { return step_; }
  double weight() const { return weight_; }
  const std::string& reason() const { return reason_; }
  const std::deque<WindowRecord>& windows() const { return windows_; }
  uint64_t windowsPassed() const { return passed_; }
  uint64_t windowsFailed() const { return failed_; }
  uint64_t windowsInconclusive() const { return inconclusive_; }

  // For GET /admin/rollouts and the state file.
  nlohmann::json toJson(uint64_t now_ms) const;
  // A rollout saved by toJson, resumed after a restart at the step it was at (its hold starts
  // again) or, with on_restart = hold, paused for an operator. Never jumps ahead. `restart`
  // false: the fleet's stored rollout taken over by another instance (fleet mode), which keeps
  // its state as it was (a new leader is not a restart of the rollout).
  static absl::StatusOr<Rollout> fromJson(const nlohmann::json& saved, uint64_t now_ms,
                                          bool restart = true);

 private:
  RolloutAction enterStep(uint32_t step, uint64_t now_ms);
  RolloutAction finish(RolloutPhase phase, RolloutAction::Kind kind, const std::string& reason,
                       uint64_t now_ms);
  RolloutAction succeed(uint64_t now_ms);
  // The step's hold passed with a conclusive pass (or an accepted inconclusive window).
  RolloutAction advance(uint64_t now_ms);
  RolloutAction next(uint64_t now_ms);

  RolloutSpec spec_;
  std::string baseline_;
  RolloutPhase phase_ = RolloutPhase::kProgressing;
  uint32_t step_ = 0;
  double weight_ = 0;
  uint64_t started_ms_ = 0;
  uint64_t step_started_ms_ = 0;
  uint64_t ended_ms_ = 0;
  uint32_t failures_in_a_row_ = 0;
  uint64_t passed_ = 0, failed_ = 0, inconclusive_ = 0;
  std::string reason_;
  std::deque<WindowRecord> windows_;
  std::deque<WebhookRecord> webhook_calls_;
  uint64_t gate_ticket_ = 0;
  bool gate_pending_ = false;
};

}  // namespace sy::proxy::control
