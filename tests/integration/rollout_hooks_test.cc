// Rollout webhooks and rollouts declared in the configuration, end to end: the demo backend as
// the canary, a webhook receiver on 127.0.0.1 (a real socket on a thread of the test) as the
// gate or the notification URL, and two routes rolling out at once.

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/rollout_support.h"
#include "tests/support/temp_dir.h"
#include "tests/support/webhook_receiver.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

class RolloutHooksTest : public RolloutProxyTest {
 protected:
  std::vector<nlohmann::json> callsOf(const nlohmann::json& rollout, const std::string& hook) {
    std::vector<nlohmann::json> found;
    for (const nlohmann::json& call : rollout["webhook_calls"]) {
      if (call["hook"] == hook) found.push_back(call);
    }
    return found;
  }
  std::optional<double> metric(const std::string& name, const Labels& labels) {
    AdminResult result = admin("GET", "/metrics");
    EXPECT_EQ(result.status, 200);
    auto parsed = Exposition::parse(result.text());
    if (!parsed.ok()) return std::nullopt;
    return parsed->value(name, labels);
  }
};

TEST_F(RolloutHooksTest, AGateAnswering500HoldsTheStepUntilItAnswers200) {
  WebhookReceiver gate(500);
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();

  nlohmann::json body =
      rolloutBody({{{"weight", 10}, {"hold", "0s"}},
                   {{"weight", 50}, {"hold", "0s"}},
                   {{"weight", 100}, {"hold", "1h"}}},
                  {{"interval", "300ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  body["on_inconclusive"] = "advance";
  body["webhooks"] = {{"gate", {{"url", gate.url("/gate")}, {"timeout", "2s"}, {"retries", 1}}}};
  AdminResult started = start(body);
  ASSERT_EQ(started.status, 201) << started.text();

  // Asked at least twice (two windows that would advance), refused each time: held at 10%.
  ASSERT_TRUE(waitUntil([&] { return gate.count() >= 4; }, seconds(30))) << rollout().dump(2);
  nlohmann::json held = rollout();
  EXPECT_EQ(held["step"], 0);
  EXPECT_EQ(held["weight"], 10.0);
  EXPECT_EQ(held["state"], "progressing");
  EXPECT_EQ(webRoute()["canary"]["weight"], 10.0) << "the published weight did not change";
  const std::vector<nlohmann::json> refusals = callsOf(held, "gate");
  ASSERT_FALSE(refusals.empty()) << held.dump(2);
  EXPECT_EQ(refusals[0]["result"], "rejected");
  EXPECT_EQ(refusals[0]["status"], 500);
  EXPECT_EQ(refusals[0]["attempts"], 2) << "one retry";
  EXPECT_NE(refusals[0]["detail"].get<std::string>().find("held"), std::string::npos);
  const WebhookReceiver::Call asked = gate.calls()[0];
  EXPECT_EQ(asked.target, "/gate");
  EXPECT_EQ(asked.body["type"], "gate");
  EXPECT_EQ(asked.body["route"], "web");
  EXPECT_EQ(asked.body["pool"], "green");
  EXPECT_EQ(asked.body["step"], 0);
  EXPECT_EQ(asked.body["weight"], 10.0);
  EXPECT_EQ(asked.body["next_weight"], 50.0);
  EXPECT_GE(metric("switchyard_rollout_webhook_total",
                   {{"route", "web"}, {"hook", "gate"}, {"result", "rejected"}})
                .value_or(0),
            1.0);

  gate.setStatus(200);
  ASSERT_TRUE(waitForRollout([](const nlohmann::json& r) { return r["step"] == 1; }, seconds(30)))
      << rollout().dump(2);
  EXPECT_EQ(webRoute()["canary"]["weight"], 50.0);
  EXPECT_EQ(callsOf(rollout(), "gate").back()["result"], "ok");
  EXPECT_GE(metric("switchyard_rollout_webhook_total",
                   {{"route", "web"}, {"hook", "gate"}, {"result", "ok"}})
                .value_or(0),
            1.0);
}

TEST_F(RolloutHooksTest, NotifyHearsTheStatesOfARolledBackRolloutInOrder) {
  WebhookReceiver notify(200);
  ASSERT_NO_FATAL_FAILURE(startBlueGreen({"--fail-rate", "0.2"}));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();

  nlohmann::json body =
      rolloutBody({{{"weight", 20}, {"hold", "1m"}}, {{"weight", 100}, {"hold", "1m"}}},
                  {{"interval", "500ms"},
                   {"min_requests", 20},
                   {"max_error_rate", 0.05},
                   {"failure_limit", 2}});
  body["webhooks"] = {{"notify", notify.url("/events")}};
  ASSERT_EQ(start(body).status, 201);
  ASSERT_TRUE(waitForState("rolled_back", seconds(30))) << rollout().dump(2);
  ASSERT_TRUE(waitUntil([&] { return notify.count() >= 2; }, seconds(10)));

  const std::vector<WebhookReceiver::Call> calls = notify.calls();
  ASSERT_EQ(calls.size(), 2u) << "one per state change, no more";
  EXPECT_EQ(calls[0].target, "/events");
  EXPECT_EQ(calls[0].body["event"], "rollout_started");
  EXPECT_EQ(calls[0].body["state"], "progressing");
  EXPECT_EQ(calls[0].body["step"], 0);
  EXPECT_EQ(calls[0].body["weight"], 20.0);
  EXPECT_EQ(calls[1].body["event"], "rollout_rolled_back");
  EXPECT_EQ(calls[1].body["state"], "rolled_back");
  EXPECT_EQ(calls[1].body["weight"], 0.0);
  EXPECT_NE(calls[1].body["reason"].get<std::string>().find("failed analysis windows"),
            std::string::npos)
      << calls[1].body.dump();
  EXPECT_TRUE(waitForRollout(
      [&](const nlohmann::json& r) { return r["webhook_calls"].size() == 2u; }, seconds(5)));
  for (const nlohmann::json& call : callsOf(rollout(), "notify")) EXPECT_EQ(call["result"], "ok");
}

// A reload that removes the canary pool ends its rollout (the reload already took the traffic
// back): aborted with the reason, told to notify, counted, and no longer running, so the route
// takes manual verbs again.
TEST_F(RolloutHooksTest, AReloadRemovingTheCanaryPoolAbortsItsRollout) {
  WebhookReceiver notify(200);
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  nlohmann::json body =
      rolloutBody({{{"weight", 20}, {"hold", "1h"}}, {{"weight", 100}, {"hold", "1h"}}},
                  {{"interval", "300ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  body["webhooks"] = {{"notify", notify.url("/events")}};
  AdminResult started = start(body);
  ASSERT_EQ(started.status, 201) << started.text();
  ASSERT_TRUE(waitUntil([&] { return notify.count() >= 1; }, seconds(10)));

  std::string without_green = config_;
  const std::string green = absl::StrCat(
      "[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", backendPort(1), "\"]\n\n");
  ASSERT_NE(without_green.find(green), std::string::npos) << without_green;
  without_green.erase(without_green.find(green), green.size());
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(without_green);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ((*reloaded)["event"], "config_reloaded") << reloaded->dump();

  const nlohmann::json ended = rollout();
  EXPECT_EQ(ended["state"], "aborted") << ended.dump(2);
  EXPECT_NE(ended["reason"].get<std::string>().find("removed pool \"green\""), std::string::npos)
      << ended.dump(2);
  ASSERT_TRUE(waitUntil([&] { return notify.count() >= 2; }, seconds(10)));
  EXPECT_EQ(notify.calls()[1].body["event"], "rollout_aborted");
  EXPECT_EQ(notify.calls()[1].body["state"], "aborted");
  EXPECT_EQ(metric("switchyard_rollout_rollbacks_total", {{"route", "web"}, {"reason", "reload"}})
                .value_or(0),
            1.0);
  EXPECT_EQ(httpGet(port(), "/")->status, 200);
  // Nothing runs on the route any more: a manual verb is not answered 409.
  EXPECT_EQ(admin("POST", "/admin/switch?to=blue").status, 200);
}

TEST_F(RolloutHooksTest, ADeadNotifyUrlDoesNotStopARolloutFromFinishing) {
  uint16_t dead_port = 0;
  const int fd = listenOnLoopback(1, &dead_port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // nobody listens there now: every notification is refused
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(100, seconds(10))) << load.failureSummary();

  nlohmann::json body =
      rolloutBody({{{"weight", 10}, {"hold", "0s"}}, {{"weight", 100}, {"hold", "0s"}}},
                  {{"interval", "300ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  body["webhooks"] = {
      {"notify",
       {{"url", absl::StrCat("http://127.0.0.1:", dead_port, "/events")}, {"retries", 2}}}};
  ASSERT_EQ(start(body).status, 201);
  ASSERT_TRUE(waitForState("succeeded", seconds(30))) << rollout().dump(2);
  EXPECT_EQ(webRoute()["active"], "green");
  ASSERT_TRUE(waitForRollout(
      [&](const nlohmann::json& r) { return callsOf(r, "notify").size() >= 3u; }, seconds(10)))
      << rollout().dump(2);
  for (const nlohmann::json& call : callsOf(rollout(), "notify")) {
    EXPECT_EQ(call["result"], "error");
    EXPECT_EQ(call["attempts"], 3);
    EXPECT_NE(call["detail"].get<std::string>().find("connect"), std::string::npos) << call;
  }
  EXPECT_GE(metric("switchyard_rollout_webhook_total",
                   {{"route", "web"}, {"hook", "notify"}, {"result", "error"}})
                .value_or(0),
            3.0);
}

TEST_F(RolloutHooksTest, AConfigDeclaredRolloutStartsAndProgresses) {
  const std::string declared = R"(
[[rollouts]]
route = "web"
pool = "green"
steps = [ { weight = 10, hold = "0s" }, { weight = 40, hold = "0s" }, { weight = 100, hold = "1h" } ]
analysis = { interval = "300ms", min_requests = 10, max_error_rate = 0.05 }
)";
  ASSERT_NO_FATAL_FAILURE(startBlueGreen({}, "", declared));
  ASSERT_TRUE(waitForRollout([](const nlohmann::json& r) { return r["state"] == "progressing"; },
                             seconds(10)));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(waitForRollout([](const nlohmann::json& r) { return r["step"] == 2; }, seconds(30)))
      << rollout().dump(2);
  EXPECT_EQ(webRoute()["canary"]["weight"], 100.0);
  EXPECT_EQ(metric("switchyard_rollouts_started_total", {{"route", "web"}}).value_or(0), 1.0);

  // A reload with the same declaration starts nothing new; the running rollout goes on.
  AdminResult reloaded = admin("POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.text();
  EXPECT_EQ(rollout()["step"], 2);
  EXPECT_EQ(metric("switchyard_rollouts_started_total", {{"route", "web"}}).value_or(0), 1.0);
}

TEST_F(RolloutHooksTest, TwoRoutesRunRolloutsAtTheSameTimeIndependently) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  // Routes match in order: "api" (/api) comes before "web" (everything else).
  config_ = blueGreen(backendPort(0), backendPort(1));
  const std::string web = "[[routes]]\nname = \"web\"";
  config_.insert(config_.find(web),
                 "[[routes]]\nname = \"api\"\npath_prefix = \"/api\"\npool = \"blue\"\n\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  LoadGenerator web_load({.port = port(), .clients = 2});
  LoadGenerator api_load({.port = port(), .clients = 2, .path = "/api/items"});
  web_load.start();
  api_load.start();
  ASSERT_TRUE(web_load.waitForMore(50, seconds(10))) << web_load.failureSummary();
  ASSERT_TRUE(api_load.waitForMore(50, seconds(10))) << api_load.failureSummary();

  ASSERT_EQ(
      start(rolloutBody({{{"weight", 10}, {"hold", "0s"}}, {{"weight", 100}, {"hold", "0s"}}},
                        {{"interval", "300ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}}))
          .status,
      201);
  nlohmann::json api =
      rolloutBody({{{"weight", 30}, {"hold", "1h"}}, {{"weight", 100}}},
                  {{"interval", "300ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  api["route"] = "api";
  ASSERT_EQ(start(api).status, 201);

  ASSERT_TRUE(waitForState("succeeded", seconds(30))) << rollout().dump(2);
  // Web's rollout ended; api's runs on at its own step, judged on its own windows.
  const nlohmann::json api_now = rollout("api");
  EXPECT_EQ(api_now["state"], "progressing");
  EXPECT_EQ(api_now["step"], 0);
  EXPECT_EQ(api_now["weight"], 30.0);
  EXPECT_TRUE(waitForRollout([](const nlohmann::json& r) { return r["windows_passed"] >= 1; },
                             seconds(10), "api"))
      << rollout("api").dump(2);
  AdminResult status = admin("GET", "/admin/status");
  ASSERT_EQ(status.status, 200);
  for (const nlohmann::json& route : status.body["routes"]) {
    if (route["name"] == "web") {
      EXPECT_EQ(route["active"], "green");
    } else {
      EXPECT_EQ(route["active"], "blue");
      EXPECT_EQ(route["canary"]["weight"], 30.0);
    }
  }
  // Aborting one leaves the other alone.
  ASSERT_EQ(post("/admin/rollouts/api/abort", "").status, 200);
  EXPECT_EQ(rollout("api")["state"], "aborted");
  EXPECT_EQ(rollout()["state"], "succeeded");
  AdminResult list = admin("GET", "/admin/rollouts");
  EXPECT_EQ(list.body["rollouts"].size(), 2u);
}

// `switchyard --check FILE`: the exit code, the output in *output.
std::optional<int> checkRolloutFile(const std::string& path, std::string* output) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::start({switchyardBinary(), "--check", path});
  if (!process.ok()) return std::nullopt;
  const std::optional<int> code = (*process)->waitExit(seconds(10));
  // The exit can be seen before the reader thread took the last lines.
  (*process)->waitForLine([](const std::string&) { return false; }, seconds(2));
  *output = (*process)->output();
  return code;
}

TEST(RolloutConfigCheckTest, CheckValidatesDeclaredRollouts) {
  std::string output;
  const std::string example = std::string(SY_SOURCE_DIR) + "/conf/rollout.toml";
  EXPECT_EQ(checkRolloutFile(example, &output), std::optional<int>(0)) << output;
  std::ifstream file(example);
  std::stringstream text;
  text << file.rdbuf();
  std::string bad = text.str();
  const std::string plain = "gate = { url = \"http://";
  bad.replace(bad.find(plain), plain.size(), "gate = { url = \"https://");
  TempDir dir;
  EXPECT_EQ(checkRolloutFile(dir.writeFile("bad.toml", bad), &output), std::optional<int>(1))
      << output;
  EXPECT_NE(output.find("rollouts[0].webhooks.gate.url: \"https://127.0.0.1:8090/gate\": only "
                        "http:// webhooks are supported"),
            std::string::npos)
      << output;
}

}  // namespace
}  // namespace sy::testing
