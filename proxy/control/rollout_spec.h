#pragma once

// What a rollout is asked to do, as POST /admin/rollouts gives it (a JSON body), checked once:
// a spec that parses is one the rollout can run. Errors name the field and what it must be.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proxy/control/rollout_analysis.h"
#include "proxy/control/rollout_webhook_spec.h"

namespace sy::proxy::control {

// A canary rollout moves a weight step by step; a verify rollout switches the route's active pool
// to `pool` at once, watches it for one step (weight 100) and switches back if it fails:
// POST /admin/switch?to=POOL&verify=DURATION starts one.
enum class RolloutKind { kCanary, kVerify };

struct RolloutStep {
  double weight = 0;  // percent of the route's requests for the canary pool, 0 < w <= 100
  uint64_t hold_ms = 0;
};

enum class OnSuccess { kPromote, kHold };
// What a step does when its hold is over but its last windows were inconclusive (too little
// traffic): wait for a conclusive pass (the default), or advance anyway.
enum class OnInconclusive { kWait, kAdvance };
// What a restart of Switchyard does with a rollout that was running: go on at the step it was
// at, its hold starting again (the default), or pause there until an operator resumes it.
enum class OnRestart { kResume, kHold };

struct RolloutSpec {
  RolloutKind kind = RolloutKind::kCanary;
  std::string route;
  std::string pool;  // the canary
  std::vector<RolloutStep> steps;
  uint64_t interval_ms = 30000;
  uint32_t failure_limit = 2;  // failed windows in a row that roll back
  AnalysisRules rules;
  OnSuccess on_success = OnSuccess::kPromote;
  OnInconclusive on_inconclusive = OnInconclusive::kWait;
  OnRestart on_restart = OnRestart::kResume;
  RolloutWebhooks webhooks;

  nlohmann::json toJson() const;
};

// Parses and checks a body. `default_route` is used when the body names none (as the other
// route verbs do with a single route). Does not look the route or pool up: the caller does.
absl::StatusOr<RolloutSpec> parseRolloutSpec(const nlohmann::json& body,
                                             const std::string& default_route);

// The body of the verify rollout that POST /admin/switch?to=POOL&verify=DURATION starts: one step
// at 100 held for `verify`, windows of a sixth of it (1 s to 30 s), at least 20 requests, at most
// 1% errors, two failed windows in a row switch back; inconclusive windows do not hold it.
nlohmann::json verifyRolloutBody(const std::string& route, const std::string& pool,
                                 const std::string& verify);

}  // namespace sy::proxy::control
