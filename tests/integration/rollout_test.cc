// Automated canary rollouts end to end (issue 13): the demo backend as a failing, slow or
// healthy canary under steady load, the rollout deciding by itself from the workers' counters,
// the operator's commands, refused bodies, and a restart in the middle.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/health_support.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/rollout_support.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

// The fixture is shared with rollout_hooks_test.cc (tests/support/rollout_support.h).
class RolloutTest : public RolloutProxyTest {};

TEST_F(RolloutTest, AFailingCanaryIsRolledBackWithinFailureLimitWindows) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen({"--fail-rate", "0.2"}));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();

  AdminResult started =
      start(rolloutBody({{{"weight", 20}, {"hold", "1m"}}, {{"weight", 100}, {"hold", "1m"}}},
                        {{"interval", "500ms"},
                         {"min_requests", 20},
                         {"max_error_rate", 0.05},
                         {"failure_limit", 2}}));
  ASSERT_EQ(started.status, 201) << started.text();
  EXPECT_EQ(started.body["state"], "progressing");
  EXPECT_EQ(started.body["weight"], 20.0);
  EXPECT_EQ(webRoute()["canary"]["weight"], 20.0);

  ASSERT_TRUE(waitForState("rolled_back", seconds(30))) << rollout().dump(2);
  const nlohmann::json done = rollout();
  EXPECT_EQ(done["windows_failed"], 2) << "rolled back at the second failed window";
  EXPECT_EQ(done["weight"], 0.0);
  EXPECT_NE(done["reason"].get<std::string>().find("2 failed analysis windows in a row"),
            std::string::npos)
      << done["reason"];
  EXPECT_NE(done["reason"].get<std::string>().find("error rate"), std::string::npos);
  const nlohmann::json last = done["windows"].back();
  EXPECT_EQ(last["verdict"], "fail");
  EXPECT_GE(last["canary"]["requests"].get<uint64_t>(), 20u);

  // The rollback is published: once requests in flight then are done, the canary gets nothing.
  ASSERT_TRUE(waitUntil([&] { return webRoute()["canary"].is_null(); }, seconds(5)))
      << webRoute().dump();
  ASSERT_TRUE(load.waitForMore(200, seconds(10))) << load.failureSummary();
  const uint64_t canary_after = canaryRequests();
  ASSERT_TRUE(load.waitForMore(500, seconds(10))) << load.failureSummary();
  EXPECT_EQ(canaryRequests(), canary_after) << "requests reached the canary after the rollback";
  EXPECT_EQ(webRoute()["active"], "blue");

  AdminResult metrics = admin("GET", "/metrics");
  EXPECT_NE(metrics.text().find("switchyard_rollout_rollbacks_total{reason=\"analysis\",route="
                                "\"web\"} 1"),
            std::string::npos)
      << metrics.text();
  EXPECT_NE(metrics.text().find("switchyard_rollout_state{route=\"web\"} 4"), std::string::npos);
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "rollout_rolled_back", seconds(1)).has_value());
}

TEST_F(RolloutTest, AHealthyCanaryWalksEveryStepAndIsPromoted) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();

  AdminResult started = start(rolloutBody({{{"weight", 10}, {"hold", "0s"}},
                                           {{"weight", 50}, {"hold", "0s"}},
                                           {{"weight", 100}, {"hold", "0s"}}},
                                          {{"interval", "300ms"},
                                           {"min_requests", 10},
                                           {"max_error_rate", 0.01},
                                           {"max_error_rate_vs_baseline", 2},
                                           {"max_p99", "2s"}}));
  ASSERT_EQ(started.status, 201) << started.text();
  ASSERT_TRUE(waitForState("succeeded", seconds(30))) << rollout().dump(2);
  const nlohmann::json done = rollout();
  EXPECT_EQ(done["windows_failed"], 0);
  EXPECT_EQ(done["step"], 2);
  // Each step passed one window at least; the 100% window skipped the baseline comparison.
  int last_step = -1;
  for (const nlohmann::json& window : done["windows"]) {
    if (window["verdict"] == "pass") last_step = std::max(last_step, window["step"].get<int>());
  }
  EXPECT_EQ(last_step, 2);
  EXPECT_EQ(webRoute()["active"], "green") << "promoted";
  EXPECT_TRUE(webRoute()["canary"].is_null());
  ASSERT_TRUE(load.waitForMoreFrom("green", 50, seconds(10)));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(RolloutTest, ASlowCanaryFailsTheLatencyRuleWithAFineErrorRate) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen({"--delay", "200ms"}));
  LoadGenerator load({.port = port(), .clients = 6});
  load.start();
  AdminResult started =
      start(rolloutBody({{{"weight", 50}, {"hold", "1m"}}}, {{"interval", "1s"},
                                                             {"min_requests", 3},
                                                             {"max_error_rate", 0.01},
                                                             {"max_p99", "100ms"},
                                                             {"failure_limit", 2}}));
  ASSERT_EQ(started.status, 201) << started.text();
  ASSERT_TRUE(waitForState("rolled_back", seconds(30))) << rollout().dump(2);
  const nlohmann::json last = rollout()["windows"].back();
  ASSERT_EQ(last["checks"].size(), 2u) << last.dump(2);
  EXPECT_EQ(last["checks"][0]["rule"], "max_error_rate");
  EXPECT_EQ(last["checks"][0]["verdict"], "pass");
  EXPECT_EQ(last["checks"][1]["rule"], "max_p99");
  EXPECT_EQ(last["checks"][1]["verdict"], "fail");
  EXPECT_GT(last["canary"]["p99_ms"].get<double>(), 100.0);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "slow, not failing: " << load.failureSummary();
}

TEST_F(RolloutTest, TooLittleTrafficStaysInconclusiveAndDoesNotAdvance) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  AdminResult started =
      start(rolloutBody({{{"weight", 10}, {"hold", "0s"}}, {{"weight", 100}, {"hold", "0s"}}},
                        {{"interval", "200ms"}, {"min_requests", 1000}, {"max_error_rate", 0.01}}));
  ASSERT_EQ(started.status, 201) << started.text();
  ASSERT_TRUE(waitForRollout(
      [](const nlohmann::json& r) { return r["windows_inconclusive"].get<int>() >= 3; },
      seconds(20)));
  const nlohmann::json waiting = rollout();
  EXPECT_EQ(waiting["state"], "progressing");
  EXPECT_EQ(waiting["step"], 0);
  EXPECT_EQ(waiting["windows_passed"], 0);
  EXPECT_NE(waiting["windows"].back()["reason"].get<std::string>().find("fewer than min_requests"),
            std::string::npos);

  AdminResult aborted = post("/admin/rollouts/web/abort", "");
  ASSERT_EQ(aborted.status, 200) << aborted.text();
  EXPECT_EQ(aborted.body["state"], "aborted");
  EXPECT_TRUE(webRoute()["canary"].is_null());
}

TEST_F(RolloutTest, OperatorCommandsAndManualCallsDuringARollout) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  const nlohmann::json body = rolloutBody({{{"weight", 5}, {"hold", "1h"}},
                                           {{"weight", 50}, {"hold", "1h"}},
                                           {{"weight", 100}, {"hold", "1h"}}},
                                          {{"interval", "1m"}, {"max_error_rate", 0.01}});
  ASSERT_EQ(start(body).status, 201);
  // Manual route verbs and a second rollout meet the running one.
  EXPECT_EQ(admin("POST", "/admin/switch?to=green").status, 409);
  EXPECT_EQ(admin("POST", "/admin/canary?pool=green&weight=50").status, 409);
  EXPECT_EQ(admin("POST", "/admin/promote").status, 409);
  EXPECT_EQ(admin("POST", "/admin/rollback").status, 409);
  EXPECT_EQ(start(body).status, 409);
  EXPECT_EQ(webRoute()["canary"]["weight"], 5.0) << "nothing changed";

  EXPECT_EQ(post("/admin/rollouts/web/pause", "").body["state"], "paused");
  EXPECT_EQ(post("/admin/rollouts/web/pause", "").status, 409) << "already paused";
  EXPECT_EQ(post("/admin/rollouts/web/skip", "").status, 409) << "skip needs progressing";
  EXPECT_EQ(post("/admin/rollouts/web/resume", "").body["state"], "progressing");
  AdminResult skipped = post("/admin/rollouts/web/skip", "");
  ASSERT_EQ(skipped.status, 200) << skipped.text();
  EXPECT_EQ(skipped.body["step"], 1);
  EXPECT_EQ(webRoute()["canary"]["weight"], 50.0);
  EXPECT_EQ(post("/admin/rollouts/web/explode", "").status, 404);
  EXPECT_EQ(admin("GET", "/admin/rollouts/web/skip").status, 405);

  AdminResult promoted = post("/admin/rollouts/web/promote", "");
  ASSERT_EQ(promoted.status, 200) << promoted.text();
  EXPECT_EQ(promoted.body["state"], "succeeded");
  EXPECT_EQ(webRoute()["active"], "green");
  // Finished: manual calls work again, and the record stays.
  EXPECT_EQ(admin("POST", "/admin/rollback").status, 200);
  AdminResult list = admin("GET", "/admin/rollouts");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["rollouts"].size(), 1u);
  EXPECT_EQ(list.body["rollouts"][0]["state"], "succeeded");
}

TEST_F(RolloutTest, BadBodiesAreRefusedAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  const nlohmann::json route_before = webRoute();
  const nlohmann::json good = rolloutBody({{{"weight", 5}, {"hold", "1m"}}},
                                          {{"interval", "1m"}, {"max_error_rate", 0.01}});
  const auto refused = [&](nlohmann::json body, int status, const std::string& error_part) {
    AdminResult result = start(body);
    EXPECT_EQ(result.status, status) << body.dump() << " -> " << result.text();
    EXPECT_NE(result.text().find(error_part), std::string::npos) << result.text();
  };
  nlohmann::json body = good;
  body["route"] = "nope";
  refused(body, 404, "unknown route");
  body = good;
  body["pool"] = "purple";
  refused(body, 404, "unknown pool");
  body = good;
  body["pool"] = "blue";
  refused(body, 409, "active pool");
  body = good;
  body["steps"] = nlohmann::json::array();
  refused(body, 400, "steps");
  body = good;
  body["steps"] = {{{"weight", 50}}, {{"weight", 10}}};
  refused(body, 400, "weights must increase");
  body = good;
  body["steps"][0]["hold"] = "-1s";
  refused(body, 400, "steps[0].hold");
  body = good;
  body["analysis"]["max_error_rate"] = 2;
  refused(body, 400, "analysis.max_error_rate");
  AdminResult not_json = post("/admin/rollouts", "{\"route\": ");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_NE(not_json.text().find("not valid JSON"), std::string::npos);

  EXPECT_EQ(webRoute(), route_before);
  EXPECT_EQ(admin("GET", "/admin/rollouts").body["rollouts"].size(), 0u);
  EXPECT_EQ(admin("GET", "/admin/rollouts/web").status, 404);
}

TEST_F(RolloutTest, ARestartResumesAtTheSavedStep) {
  TempDir state_dir;
  ASSERT_NO_FATAL_FAILURE(
      startBlueGreen({}, absl::StrCat("state_file = \"", state_dir.file("state.json"), "\"\n")));
  ASSERT_EQ(start(rolloutBody({{{"weight", 5}, {"hold", "1h"}}, {{"weight", 30}, {"hold", "1h"}}},
                              {{"interval", "1m"}, {"max_error_rate", 0.01}}))
                .status,
            201);
  ASSERT_EQ(post("/admin/rollouts/web/skip", "").status, 200);

  proxy_.process->signal(SIGTERM);
  ASSERT_EQ(proxy_.process->waitExit(seconds(10)), 0);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  const nlohmann::json resumed = rollout();
  EXPECT_EQ(resumed["state"], "progressing");
  EXPECT_EQ(resumed["step"], 1) << "at the step it was at, never further";
  EXPECT_EQ(resumed["weight"], 30.0);
  EXPECT_EQ(webRoute()["canary"]["weight"], 30.0);
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "rollout_restored", seconds(1)).has_value());
  EXPECT_EQ(admin("POST", "/admin/switch?to=green").status, 409) << "still guarded";
}

TEST_F(RolloutTest, VerifyAfterSwitchSwitchesBackFromABadGreenAndKeepsAGoodOne) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen({"--fail-rate", "0.2"}));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();
  // A verify of 6 s has windows of 1 s: two failed ones switch back.
  AdminResult switched = admin("POST", "/admin/switch?to=green&verify=6s");
  ASSERT_EQ(switched.status, 201) << switched.text();
  EXPECT_EQ(switched.body["spec"]["kind"], "verify");
  EXPECT_EQ(webRoute()["active"], "green");
  EXPECT_EQ(admin("POST", "/admin/switch?to=blue").status, 409) << "guarded while verifying";
  ASSERT_TRUE(waitForState("rolled_back", seconds(30))) << rollout().dump(2);
  EXPECT_EQ(webRoute()["active"], "blue") << "switched back by itself";
  EXPECT_LE(rollout()["windows"].size(), 3u) << "within the verification period";

  // A good green (its failures turned off) is kept once the period is over.
  ASSERT_EQ(adminCall(backendPort(1), "POST", "/control/fail?rate=0").status, 200);
  switched = admin("POST", "/admin/switch?to=green&verify=2s");
  ASSERT_EQ(switched.status, 201) << switched.text();
  ASSERT_TRUE(waitForState("succeeded", seconds(30))) << rollout().dump(2);
  EXPECT_EQ(webRoute()["active"], "green");
  EXPECT_EQ(admin("POST", "/admin/switch?to=blue").status, 200) << "manual calls work again";

  EXPECT_EQ(admin("POST", "/admin/switch?to=green&verify=soon").status, 400);
  EXPECT_EQ(admin("POST", "/admin/switch?to=green&verify=5s&force=1").status, 400);
}

// A verify switch refused at its first step (no healthy backend in the new pool) starts nothing:
// the route keeps the record of its last rollout, and its gauges, as they were.
TEST_F(RolloutTest, ARefusedVerifySwitchLeavesTheRouteAsItWas) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  const std::string green_backend =
      absl::StrCat("/admin/pools/green/backends/127.0.0.1:", backendPort(1));
  auto rolloutState = [&]() -> std::optional<double> {
    absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    return metrics.ok() ? metrics->value("switchyard_rollout_state", {{"route", "web"}})
                        : std::nullopt;
  };

  ASSERT_EQ(admin("POST", green_backend + "/disable").status, 200);
  EXPECT_EQ(admin("POST", "/admin/switch?to=green&verify=5s").status, 409);
  EXPECT_EQ(admin("GET", "/admin/rollouts/web").status, 404) << "no rollout was started";
  EXPECT_EQ(rolloutState(), std::nullopt) << "no rollout gauges for the route";
  EXPECT_EQ(webRoute()["active"], "blue");

  // With a finished verify on record, a refused one keeps that record.
  ASSERT_EQ(admin("POST", green_backend + "/enable").status, 200);
  ASSERT_TRUE(waitUntil(
      [&] { return admin("POST", "/admin/switch?to=green&verify=2s").status == 201; }, seconds(15)))
      << "green's backend passes its first check after enable";
  ASSERT_TRUE(waitForState("succeeded", seconds(30))) << rollout().dump(2);
  ASSERT_EQ(admin("POST", "/admin/switch?to=blue").status, 200);
  ASSERT_EQ(admin("POST", green_backend + "/disable").status, 200);
  EXPECT_EQ(admin("POST", "/admin/switch?to=green&verify=5s").status, 409);
  EXPECT_EQ(rollout()["state"], "succeeded") << "the last rollout's record stays";
  EXPECT_EQ(rolloutState(), 3.0) << "3 = succeeded";
  EXPECT_EQ(webRoute()["active"], "blue");
}

// conf/alerts.yml: promtool accepts it, and every metric it names is exposed by a proxy that
// mirrors and has run a rollout.
TEST_F(RolloutTest, AlertRulesPassPromtoolAndNameExposedMetrics) {
  std::ifstream file(std::string(SY_SOURCE_DIR) + "/conf/alerts.yml");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  const std::string rules = text.str();
  const absl::Status checked = runPromtool({"check", "rules", "{file}"}, rules);
  ASSERT_TRUE(checked.ok()) << checked;

  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startBackend("shadow"));
  config_ = absl::StrCat(blueGreen(backendPort(0), backendPort(1)),
                         "mirror = { pool = \"shadow\", percent = 100 }\n\n[[pools]]\nname = "
                         "\"shadow\"\nbackends = [\"127.0.0.1:",
                         backendPort(2), "\"]\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(httpGet(port(), "/").has_value());
  ASSERT_EQ(start(rolloutBody({{{"weight", 10}, {"hold", "1h"}}},
                              {{"interval", "100ms"}, {"max_error_rate", 0.01}}))
                .status,
            201);
  ASSERT_TRUE(
      waitForRollout([](const nlohmann::json& r) { return !r["windows"].empty(); }, seconds(10)));
  ASSERT_EQ(post("/admin/rollouts/web/abort", "").status, 200);

  const std::string exposition = admin("GET", "/metrics").text();
  static const std::regex kName(R"(switchyard_[a-z0-9_]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  EXPECT_GE(names.size(), 5u);
  for (const std::string& name : names) {
    EXPECT_NE(exposition.find("\n" + name + "{"), std::string::npos)
        << name << " is named in conf/alerts.yml but has no sample on /metrics";
  }
}

}  // namespace
}  // namespace sy::testing
