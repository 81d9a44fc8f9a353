// nextHealth(): HAProxy's rise/fall hysteresis on the results of active checks.

#include "health/hysteresis.h"

#include <vector>

#include "gtest/gtest.h"

namespace sy::health {
namespace {

using routing::HealthState;

constexpr uint32_t kRise = 2;
constexpr uint32_t kFall = 3;

// Feeds `results` (true = pass) from `start`; returns the state after each.
std::vector<HealthState> run(HealthState start, const std::vector<bool>& results,
                             CheckCounters& counters) {
  std::vector<HealthState> states;
  HealthState state = start;
  for (bool passed : results) {
    state = nextHealth(state, passed, counters, kRise, kFall);
    states.push_back(state);
  }
  return states;
}

TEST(HysteresisTest, UnknownTakesTheFirstVerdictAtOnce) {
  CheckCounters pass_counters;
  EXPECT_EQ(nextHealth(HealthState::kUnknown, true, pass_counters, kRise, kFall),
            HealthState::kHealthy);
  EXPECT_EQ(pass_counters.successes, 1u);
  EXPECT_EQ(pass_counters.failures, 0u);

  CheckCounters fail_counters;
  EXPECT_EQ(nextHealth(HealthState::kUnknown, false, fail_counters, kRise, kFall),
            HealthState::kUnhealthy);
  EXPECT_EQ(fail_counters.failures, 1u);
  EXPECT_EQ(fail_counters.successes, 0u);
}

TEST(HysteresisTest, UnknownIgnoresLargeThresholds) {
  // Even with rise = fall = 100, a new backend is decided by one check.
  CheckCounters counters;
  EXPECT_EQ(nextHealth(HealthState::kUnknown, true, counters, 100, 100), HealthState::kHealthy);
  counters = {};
  EXPECT_EQ(nextHealth(HealthState::kUnknown, false, counters, 100, 100), HealthState::kUnhealthy);
}

TEST(HysteresisTest, HealthyFallsAfterFallConsecutiveFailures) {
  CheckCounters counters;
  const std::vector<HealthState> states =
      run(HealthState::kHealthy, {false, false, false}, counters);
  EXPECT_EQ(states, (std::vector<HealthState>{HealthState::kHealthy, HealthState::kHealthy,
                                              HealthState::kUnhealthy}));
  EXPECT_EQ(counters.failures, kFall);
}

TEST(HysteresisTest, UnhealthyRisesAfterRiseConsecutivePasses) {
  CheckCounters counters;
  const std::vector<HealthState> states = run(HealthState::kUnhealthy, {true, true}, counters);
  EXPECT_EQ(states, (std::vector<HealthState>{HealthState::kUnhealthy, HealthState::kHealthy}));
}

TEST(HysteresisTest, APassBetweenFailuresStartsTheFallCountOver) {
  CheckCounters counters;
  // Two failures, one pass, two failures: never three in a row.
  const std::vector<HealthState> states =
      run(HealthState::kHealthy, {false, false, true, false, false}, counters);
  for (HealthState state : states) EXPECT_EQ(state, HealthState::kHealthy);
  EXPECT_EQ(counters.failures, 2u);
  EXPECT_EQ(counters.successes, 0u);
  // The third failure in a row now tips it.
  EXPECT_EQ(nextHealth(HealthState::kHealthy, false, counters, kRise, kFall),
            HealthState::kUnhealthy);
}

TEST(HysteresisTest, AFailureBetweenPassesStartsTheRiseCountOver) {
  CheckCounters counters;
  const std::vector<HealthState> states =
      run(HealthState::kUnhealthy, {true, false, true, false, true}, counters);
  for (HealthState state : states) EXPECT_EQ(state, HealthState::kUnhealthy);
  EXPECT_EQ(counters.successes, 1u);
  EXPECT_EQ(counters.failures, 0u);
  EXPECT_EQ(nextHealth(HealthState::kUnhealthy, true, counters, kRise, kFall),
            HealthState::kHealthy);
}

TEST(HysteresisTest, PassesKeepHealthyAndFailuresKeepUnhealthy) {
  CheckCounters counters;
  for (HealthState state : run(HealthState::kHealthy, {true, true, true, true}, counters)) {
    EXPECT_EQ(state, HealthState::kHealthy);
  }
  counters = {};
  for (HealthState state : run(HealthState::kUnhealthy, {false, false, false, false}, counters)) {
    EXPECT_EQ(state, HealthState::kUnhealthy);
  }
}

TEST(HysteresisTest, AFullCycleCountsFromZeroAfterEachTransition) {
  // Counters are consecutive results, so the streak that caused a transition is the start of
  // nothing: after falling, `rise` passes are needed, not rise minus earlier passes.
  CheckCounters counters;
  const std::vector<HealthState> states =
      run(HealthState::kUnknown,
          {true, false, false, false, true, true, false, false, false, true, true}, counters);
  using H = HealthState;
  EXPECT_EQ(states, (std::vector<H>{H::kHealthy, H::kHealthy, H::kHealthy, H::kUnhealthy,
                                    H::kUnhealthy, H::kHealthy, H::kHealthy, H::kHealthy,
                                    H::kUnhealthy, H::kUnhealthy, H::kHealthy}));
}

TEST(HysteresisTest, ThresholdsOfOneFlipOnEveryChange) {
  CheckCounters counters;
  HealthState state = HealthState::kHealthy;
  state = nextHealth(state, false, counters, 1, 1);
  EXPECT_EQ(state, HealthState::kUnhealthy);
  state = nextHealth(state, true, counters, 1, 1);
  EXPECT_EQ(state, HealthState::kHealthy);
}

}  // namespace
}  // namespace sy::health
