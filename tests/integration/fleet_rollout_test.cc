// Automated rollouts in fleet mode (issue 21) against a real etcd and three Switchyard
// instances on loopback: one instance, elected through an etcd lease, runs the rollout's windows
// from the figures of the whole fleet; the rollout's state is stored with the traffic state, so
// a rollout started on any instance reaches all of them, and a leader killed in the middle is
// replaced by another instance that continues from the stored step.

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/etcd_server.h"
#include "tests/support/fleet_support.h"
#include "tests/support/health_support.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class FleetRolloutTest : public FleetFixture {
 protected:
  // etcd, three instances, demo backends and load share two cores: generous deadlines.
  FleetRolloutTest()
      : FleetFixture([] {
          Options options;
          options.etcd = FleetEtcd::kPlain;
          options.wait_timeout = milliseconds(30000);
          return options;
        }()) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(FleetFixture::SetUp());
    if (IsSkipped()) return;
    auto failing = startDemoBackend("green", {"--fail-rate", "0.5"});
    ASSERT_TRUE(failing.ok()) << failing.status();
    failing_green_ = *std::move(failing);
  }

  void TearDown() override {
    load_.clear();
    FleetFixture::TearDown();
  }

  // Starts i1, i2, i3 in this order, i1 elected before the others start: i1 leads.
  // `failing_on` (0-based, -1 for none): that instance's "green" pool is the failing backend.
  void startFleet(int failing_on = -1) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_NO_FATAL_FAILURE(startInstance(i, i == failing_on));
      if (i == 0) {
        ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["leading"] == true; }))
            << fleetStatus(0).dump();
      }
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(i)["leader"] == "i1"; }))
          << fleetStatus(i).dump();
    }
  }

  std::string configOf(int index, bool failing_green) const {
    return absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
        "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
        blue_.port, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:",
        failing_green ? failing_green_.port : green_.port,
        "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n\n[fleet]\netcd = [\"",
        etcd_.clientUrl(), "\"]\nprefix = \"/switchyard/rollouts\"\ninstance_id = \"i", index + 1,
        "\"\nlease_ttl = \"2s\"\nrequest_timeout = \"5s\"\nreconnect_interval = \"100ms\"\n");
  }

  void startInstance(int index, bool failing_green) {
    FleetFixture::startInstance(index, configOf(index, failing_green));
  }

  nlohmann::json webRoute(int index) {
    AdminResult status = adminCall(instance(index).admin, "GET", "/admin/status");
    return status.status == 200 ? status.body["routes"][0] : nlohmann::json();
  }
  double canaryWeight(int index) {
    const nlohmann::json route = webRoute(index);
    if (!route.is_object() || !route["canary"].is_object()) return 0;
    return route["canary"].value("weight", 0.0);
  }
  nlohmann::json rollout(int index) {
    AdminResult result = adminCall(instance(index).admin, "GET", "/admin/rollouts/web");
    return result.status == 200 ? result.body : nlohmann::json();
  }
  AdminResult startRollout(int index, const nlohmann::json& steps, const nlohmann::json& analysis) {
    const nlohmann::json body = {
        {"route", "web"}, {"pool", "green"}, {"steps", steps}, {"analysis", analysis}};
    return adminCall(instance(index).admin, "POST", "/admin/rollouts",
                     {{"Content-Type", "application/json"}}, body.dump());
  }
  void loadOn(int index, int clients) {
    load_.push_back(std::make_unique<LoadGenerator>(
        LoadGenerator::Options{.port = instance(index).port(), .clients = clients}));
    load_.back()->start();
  }

  DemoBackendProcess failing_green_;
  std::vector<std::unique_ptr<LoadGenerator>> load_;
};

TEST_F(FleetRolloutTest, ARolloutStartedOnAFollowerRunsOnTheLeaderAndReachesEveryInstance) {
  ASSERT_NO_FATAL_FAILURE(startFleet());
  for (int i = 0; i < 3; ++i) loadOn(i, 2);
  ASSERT_TRUE(load_[0]->waitForMore(50, milliseconds(10000))) << load_[0]->failureSummary();

  AdminResult started =
      startRollout(2,
                   {{{"weight", 20}, {"hold", "0s"}},
                    {{"weight", 50}, {"hold", "3s"}},
                    {{"weight", 100}, {"hold", "0s"}}},
                   {{"interval", "500ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  ASSERT_EQ(started.status, 201) << started.text();
  EXPECT_EQ(started.body["weight"], 20.0);

  // Each weight the leader sets reaches every instance: the 3 s step is seen everywhere.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return canaryWeight(i) == 50.0; }))
        << "instance " << i + 1 << ": " << webRoute(i).dump() << "\n"
        << rollout(0).dump();
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return rollout(i)["state"] == "succeeded"; }))
        << "instance " << i + 1 << ": " << rollout(i).dump();
    EXPECT_TRUE(fleetWaitFor([&] { return webRoute(i)["active"] == "green"; }))
        << webRoute(i).dump();
  }
  // Only the leader ran windows.
  EXPECT_TRUE(waitForLogEvent(*instance(0).process.process, "rollout_analysis", milliseconds(1000))
                  .has_value());
  for (int i = 1; i < 3; ++i) {
    EXPECT_FALSE(
        waitForLogEvent(*instance(i).process.process, "rollout_analysis", milliseconds(200))
            .has_value())
        << "instance " << i + 1 << " ran an analysis window";
  }
  for (auto& load : load_) {
    load->stop();
    EXPECT_EQ(load->failed(), 0u) << load->failureSummary();
  }
}

TEST_F(FleetRolloutTest, ErrorsSeenOnlyOnAnotherInstanceMakeTheLeaderRollBack) {
  // Instance 2's "green" is the failing backend, and only instance 2 gets traffic: the leader
  // (instance 1) sees a failing canary only by adding instance 2's figures to its own.
  ASSERT_NO_FATAL_FAILURE(startFleet(/*failing_on=*/1));
  loadOn(1, 4);
  ASSERT_TRUE(load_[0]->waitForMore(50, milliseconds(10000))) << load_[0]->failureSummary();

  AdminResult started = startRollout(0, {{{"weight", 50}, {"hold", "1m"}}},
                                     {{"interval", "500ms"},
                                      {"min_requests", 10},
                                      {"max_error_rate", 0.05},
                                      {"failure_limit", 2}});
  ASSERT_EQ(started.status, 201) << started.text();
  ASSERT_TRUE(fleetWaitFor([&] { return rollout(0)["state"] == "rolled_back"; }))
      << rollout(0).dump(2);
  const nlohmann::json done = rollout(0);
  EXPECT_NE(done["reason"].get<std::string>().find("error rate"), std::string::npos)
      << done["reason"];
  const nlohmann::json last = done["windows"].back();
  EXPECT_EQ(last["verdict"], "fail");
  EXPECT_GE(last["canary"]["requests"].get<uint64_t>(), 10u);
  EXPECT_GT(last["canary"]["errors"].get<uint64_t>(), 0u);
  // The leader itself sent nothing to its canary: the figures it judged are instance 2's.
  AdminResult leader_status = adminCall(instance(0).admin, "GET", "/admin/status");
  ASSERT_EQ(leader_status.status, 200);
  EXPECT_EQ(backendStatus(leader_status.body, "green", localAddress(green_.port))["requests"], 0)
      << leader_status.text();
  bool counted_instance_2 = false;
  const nlohmann::json leader_fleet = fleetStatus(0);
  for (const nlohmann::json& source : leader_fleet["figures"]) {
    counted_instance_2 = counted_instance_2 || source["id"] == "i2";
  }
  EXPECT_TRUE(counted_instance_2) << leader_fleet.dump();
  // The rollback reached every instance.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] {
      return rollout(i)["state"] == "rolled_back" && canaryWeight(i) == 0.0;
    })) << "instance "
        << i + 1 << ": " << rollout(i).dump() << webRoute(i).dump();
  }
}

TEST_F(FleetRolloutTest, AKilledLeaderIsReplacedAndTheRolloutContinuesFromTheStoredStep) {
  ASSERT_NO_FATAL_FAILURE(startFleet());
  loadOn(1, 2);
  loadOn(2, 2);
  ASSERT_TRUE(load_[0]->waitForMore(50, milliseconds(10000))) << load_[0]->failureSummary();

  AdminResult started =
      startRollout(0,
                   {{{"weight", 20}, {"hold", "0s"}},
                    {{"weight", 40}, {"hold", "4s"}},
                    {{"weight", 60}, {"hold", "0s"}},
                    {{"weight", 100}, {"hold", "0s"}}},
                   {{"interval", "500ms"}, {"min_requests", 10}, {"max_error_rate", 0.05}});
  ASSERT_EQ(started.status, 201) << started.text();
  // Step 1 (40%) stored: the others hold it.
  ASSERT_TRUE(fleetWaitFor([&] { return rollout(1)["step"] == 1; })) << rollout(1).dump();

  instance(0).process.process->signal(SIGKILL);
  instance(0).process.process->waitExit(milliseconds(10000));
  instances_[0].reset();

  // Its lease expires (2 s): i2 or i3 wins the election.
  int next = -1;
  ASSERT_TRUE(fleetWaitFor([&] {
    for (int i = 1; i < 3; ++i) {
      if (fleetStatus(i)["leading"] == true) next = i;
    }
    return next > 0;
  })) << fleetStatus(1).dump()
      << fleetStatus(2).dump();
  const int other = next == 1 ? 2 : 1;
  EXPECT_TRUE(fleetWaitFor([&] {
    return fleetStatus(other)["leader"] == absl::StrCat("i", next + 1);
  })) << fleetStatus(other).dump();

  std::optional<nlohmann::json> taken =
      waitForLogEvent(*instance(next).process.process, "rollout_taken_over", milliseconds(10000));
  ASSERT_TRUE(taken.has_value());
  EXPECT_GE((*taken)["step"].get<int>(), 1) << taken->dump() << ": not from the stored step";

  for (int i = 1; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return rollout(i)["state"] == "succeeded"; }))
        << "instance " << i + 1 << ": " << rollout(i).dump();
    EXPECT_TRUE(fleetWaitFor([&] { return webRoute(i)["active"] == "green"; }))
        << webRoute(i).dump();
  }
  for (auto& load : load_) {
    load->stop();
    EXPECT_EQ(load->failed(), 0u) << load->failureSummary();
  }
}

}  // namespace
}  // namespace sy::testing
