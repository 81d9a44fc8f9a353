// The rollout state machine with simulated time: steps, holds, rollback after failure_limit
// failed windows, inconclusive windows, operator commands, and the state file round trip.

#include "proxy/control/rollout.h"

#include "gtest/gtest.h"

namespace sy::proxy::control {
namespace {

using Kind = RolloutAction::Kind;

WindowFigures healthy(uint64_t requests = 1000) {
  PoolReading after;
  after.responses[1] = requests;
  after.duration.buckets[2] = requests;  // about 2 ms
  return WindowFigures::between(PoolReading{}, after, kErrorClass5xx);
}

WindowFigures failing(uint64_t requests = 1000) {
  PoolReading after;
  after.responses[1] = requests * 8 / 10;
  after.responses[4] = requests - requests * 8 / 10;  // 20% 5xx
  after.duration.buckets[2] = requests;
  return WindowFigures::between(PoolReading{}, after, kErrorClass5xx);
}

RolloutSpec spec(OnSuccess on_success = OnSuccess::kPromote) {
  nlohmann::json body = {
      {"route", "web"},
      {"pool", "green"},
      {"steps",
       {{{"weight", 5}, {"hold", "2s"}},
        {{"weight", 50}, {"hold", "2s"}},
        {{"weight", 100}, {"hold", "1s"}}}},
      {"analysis",
       {{"interval", "1s"}, {"min_requests", 100}, {"max_error_rate", 0.01}, {"failure_limit", 2}}},
      {"on_success", on_success == OnSuccess::kPromote ? "promote" : "hold"}};
  absl::StatusOr<RolloutSpec> parsed = parseRolloutSpec(body, "default");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return *parsed;
}

TEST(RolloutTest, AHealthyCanaryWalksEveryStepAndIsPromoted) {
  Rollout rollout(spec(), "blue");
  RolloutAction action = rollout.start(0);
  EXPECT_EQ(action.kind, Kind::kSetWeight);
  EXPECT_EQ(action.weight, 5);
  // Windows at 1 s, 2 s: the hold of 2 s is over at the second.
  EXPECT_EQ(rollout.onWindow(1000, healthy(), healthy()).kind, Kind::kNone);
  action = rollout.onWindow(2000, healthy(), healthy());
  EXPECT_EQ(action.kind, Kind::kSetWeight);
  EXPECT_EQ(action.weight, 50);
  EXPECT_EQ(rollout.step(), 1u);
  EXPECT_EQ(rollout.onWindow(3000, healthy(), healthy()).kind, Kind::kNone);
  action = rollout.onWindow(4000, healthy(), healthy());
  EXPECT_EQ(action.weight, 100);
  // At 100% the baseline gets nothing: the window is judged on the canary alone.
  action = rollout.onWindow(5000, healthy(), WindowFigures{});
  EXPECT_EQ(action.kind, Kind::kPromote);
  EXPECT_EQ(rollout.phase(), RolloutPhase::kSucceeded);
  EXPECT_EQ(rollout.windowsPassed(), 5u);
  EXPECT_EQ(rollout.onWindow(6000, failing(), healthy()).kind, Kind::kNone) << "finished";
}

TEST(RolloutTest, OnSuccessHoldKeepsTheLastWeight) {
  Rollout rollout(spec(OnSuccess::kHold), "blue");
  rollout.start(0);
  ASSERT_TRUE(rollout.skip(0).ok());
  ASSERT_TRUE(rollout.skip(0).ok());
  const RolloutAction action = rollout.onWindow(1000, healthy(), WindowFigures{});
  EXPECT_EQ(action.kind, Kind::kNone);
  EXPECT_EQ(rollout.phase(), RolloutPhase::kSucceeded);
  EXPECT_EQ(rollout.weight(), 100);
}

TEST(RolloutTest, FailureLimitFailedWindowsInARowRollBack) {
  Rollout rollout(spec(), "blue");
  rollout.start(0);
  EXPECT_EQ(rollout.onWindow(1000, failing(), healthy()).kind, Kind::kNone) << "one is not two";
  EXPECT_EQ(rollout.onWindow(2000, healthy(), healthy()).kind, Kind::kSetWeight)
      << "a pass ends the run of failures and the hold is over";
  EXPECT_EQ(rollout.onWindow(3000, failing(), healthy()).kind, Kind::kNone);
  const RolloutAction action = rollout.onWindow(4000, failing(), healthy());
  EXPECT_EQ(action.kind, Kind::kRollBack);
  EXPECT_EQ(action.weight, 0);
  EXPECT_EQ(rollout.phase(), RolloutPhase::kRolledBack);
  EXPECT_NE(rollout.reason().find("2 failed analysis windows in a row at 50%"), std::string::npos)
      << rollout.reason();
  EXPECT_NE(rollout.reason().find("error rate 0.2000"), std::string::npos) << rollout.reason();
}

TEST(RolloutTest, AFailedWindowHoldsTheStepUntilAPass) {
  Rollout rollout(spec(), "blue");
  rollout.start(0);
  EXPECT_EQ(rollout.onWindow(1000, healthy(), healthy()).kind, Kind::kNone);
  EXPECT_EQ(rollout.onWindow(2000, failing(), healthy()).kind, Kind::kNone)
      << "hold over, but the last window failed";
  EXPECT_EQ(rollout.step(), 0u);
  EXPECT_EQ(rollout.onWindow(3000, healthy(), healthy()).kind, Kind::kSetWeight);
}

TEST(RolloutTest, InconclusiveWindowsWaitUnlessToldToAdvance) {
  Rollout waiting(spec(), "blue");
  waiting.start(0);
  for (uint64_t t = 1000; t <= 10000; t += 1000) {
    EXPECT_EQ(waiting.onWindow(t, healthy(10), healthy()).kind, Kind::kNone);
  }
  EXPECT_EQ(waiting.step(), 0u);
  EXPECT_EQ(waiting.windowsInconclusive(), 10u);
  EXPECT_EQ(waiting.windowsPassed(), 0u);

  RolloutSpec advancing_spec = spec();
  advancing_spec.on_inconclusive = OnInconclusive::kAdvance;
  Rollout advancing(advancing_spec, "blue");
  advancing.start(0);
  advancing.onWindow(1000, healthy(10), healthy());
  EXPECT_EQ(advancing.onWindow(2000, healthy(10), healthy()).kind, Kind::kSetWeight);

  // Inconclusive windows between failures do not reset the run.
  Rollout rollout(spec(), "blue");
  rollout.start(0);
  rollout.onWindow(1000, failing(), healthy());
  rollout.onWindow(2000, healthy(10), healthy());
  EXPECT_EQ(rollout.onWindow(3000, failing(), healthy()).kind, Kind::kRollBack);
}

TEST(RolloutTest, OperatorCommands) {
  Rollout rollout(spec(), "blue");
  rollout.start(0);
  ASSERT_TRUE(rollout.pause(500).ok());
  EXPECT_EQ(rollout.phase(), RolloutPhase::kPaused);
  EXPECT_FALSE(rollout.pause(600).ok()) << "already paused";
  // Paused: windows are recorded, nothing is decided, failures included.
  EXPECT_EQ(rollout.onWindow(1000, failing(), healthy()).kind, Kind::kNone);
  EXPECT_EQ(rollout.onWindow(2000, failing(), healthy()).kind, Kind::kNone);
  EXPECT_EQ(rollout.windows().size(), 2u);
  EXPECT_TRUE(rollout.windows().back().paused);
  ASSERT_TRUE(rollout.resume(2500).ok());
  // The hold starts again at the resume: 2 s from 2.5 s.
  EXPECT_EQ(rollout.onWindow(3500, healthy(), healthy()).kind, Kind::kNone);
  EXPECT_EQ(rollout.onWindow(4500, healthy(), healthy()).kind, Kind::kSetWeight);

  absl::StatusOr<RolloutAction> skipped = rollout.skip(4600);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->weight, 100);
  absl::StatusOr<RolloutAction> aborted = rollout.abort(4700, "operator said so");
  ASSERT_TRUE(aborted.ok());
  EXPECT_EQ(aborted->kind, Kind::kRollBack);
  EXPECT_EQ(rollout.phase(), RolloutPhase::kAborted);
  EXPECT_EQ(rollout.reason(), "operator said so");
  EXPECT_FALSE(rollout.promoteNow(4800).ok()) << "finished";
  EXPECT_FALSE(rollout.resume(4800).ok());

  Rollout promoted(spec(), "blue");
  promoted.start(0);
  absl::StatusOr<RolloutAction> now = promoted.promoteNow(100);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->kind, Kind::kPromote);
}

TEST(RolloutTest, ARestartResumesAtTheSavedStepNeverFurther) {
  Rollout rollout(spec(), "blue");
  rollout.start(0);
  rollout.onWindow(1000, healthy(), healthy());
  rollout.onWindow(2000, healthy(), healthy());  // now at step 1 (50%)
  const nlohmann::json saved = rollout.toJson(2000);
  EXPECT_EQ(saved["state"], "progressing");
  EXPECT_EQ(saved["step"], 1);
  EXPECT_EQ(saved["weight"], 50.0);
  EXPECT_EQ(saved["windows"].size(), 2u);

  absl::StatusOr<Rollout> resumed = Rollout::fromJson(saved, 90000);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->phase(), RolloutPhase::kProgressing);
  EXPECT_EQ(resumed->step(), 1u);
  EXPECT_EQ(resumed->weight(), 50);
  // Its hold starts again: a window right after the restart does not advance it.
  EXPECT_EQ(resumed->onWindow(91000, healthy(), healthy()).kind, Kind::kNone);

  nlohmann::json hold_on_restart = saved;
  hold_on_restart["spec"]["on_restart"] = "hold";
  absl::StatusOr<Rollout> held = Rollout::fromJson(hold_on_restart, 90000);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->phase(), RolloutPhase::kPaused);
  // A fleet's new leader taking the stored rollout over is not a restart: it goes on.
  absl::StatusOr<Rollout> taken_over = Rollout::fromJson(hold_on_restart, 90000, /*restart=*/false);
  ASSERT_TRUE(taken_over.ok());
  EXPECT_EQ(taken_over->phase(), RolloutPhase::kProgressing);
  EXPECT_EQ(taken_over->step(), 1u);
  // The fleet stores a rollout without its windows: what the leader stored reads back the same.
  nlohmann::json stored = saved;
  stored.erase("windows");
  stored.erase("webhook_calls");
  absl::StatusOr<Rollout> read_back = Rollout::fromJson(stored, 90000, /*restart=*/false);
  ASSERT_TRUE(read_back.ok()) << read_back.status();
  EXPECT_EQ(read_back->toJson(90000)["spec"], saved["spec"]);
  EXPECT_EQ(read_back->weight(), 50);

  nlohmann::json bad = saved;
  bad["step"] = 7;
  EXPECT_FALSE(Rollout::fromJson(bad, 0).ok());
  bad = saved;
  bad["state"] = "exploded";
  EXPECT_FALSE(Rollout::fromJson(bad, 0).ok());
}

TEST(RolloutSpecTest, BadBodiesAreRefusedWithTheFieldNamed) {
  const nlohmann::json good = spec().toJson();
  ASSERT_TRUE(parseRolloutSpec(good, "").ok()) << "toJson parses back";
  const auto error = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json body = good;
    edit(body);
    absl::StatusOr<RolloutSpec> parsed = parseRolloutSpec(body, "default");
    return parsed.ok() ? std::string("ok") : std::string(parsed.status().message());
  };
  EXPECT_EQ(error([](nlohmann::json& b) { b["steps"] = nlohmann::json::array(); }),
            "steps: a non-empty array of {\"weight\": W, \"hold\": \"D\"}");
  EXPECT_EQ(error([](nlohmann::json& b) { b["steps"][1]["weight"] = 5; }),
            "steps[1].weight: weights must increase from step to step");
  EXPECT_EQ(error([](nlohmann::json& b) { b["steps"][0]["weight"] = 0; }),
            "steps[0].weight: a number in (0, 100]");
  EXPECT_EQ(error([](nlohmann::json& b) { b["steps"][0]["weight"] = 101; }),
            "steps[0].weight: a number in (0, 100]");
  EXPECT_EQ(error([](nlohmann::json& b) { b["steps"][0]["hold"] = "-5s"; }).substr(0, 15),
            "steps[0].hold: ");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"]["max_error_rate"] = 1.5; }),
            "analysis.max_error_rate: a number in [0, 1]");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"]["max_error_rate_vs_baseline"] = 0.5; }),
            "analysis.max_error_rate_vs_baseline: a number in [1, 1000]");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"]["failure_limit"] = 0; }),
            "analysis.failure_limit: an integer in 1..100");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"]["interval"] = "10ms"; }).substr(0, 19),
            "analysis.interval: ");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"]["bogus"] = 1; }),
            "analysis.bogus: unknown key");
  EXPECT_EQ(error([](nlohmann::json& b) { b["analysis"].erase("max_error_rate"); }).substr(0, 30),
            "analysis: at least one rule (m");
  EXPECT_EQ(error([](nlohmann::json& b) { b.erase("pool"); }), "pool: the canary pool's name");
  EXPECT_EQ(error([](nlohmann::json& b) { b["on_success"] = "celebrate"; }),
            "on_success: \"promote\" or \"hold\"");
  EXPECT_EQ(
      error([](nlohmann::json& b) { b["analysis"]["error_statuses"] = {"6xx"}; }).substr(0, 25),
      "analysis.error_statuses: ");
  EXPECT_EQ(error([](nlohmann::json& b) { b.erase("route"); }), "ok") << "the default route";
  EXPECT_EQ(parseRolloutSpec(nlohmann::json::array(), "").status().message(),
            "body: a JSON object");
}

}  // namespace
}  // namespace sy::proxy::control
