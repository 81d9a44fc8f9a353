// Fleet mode ([fleet], issue 21), the backends' part, against a real etcd and three Switchyard
// instances on loopback: a drain on one instance drains that backend on all of them, a backend
// change racing another change gets a 409, ?wait=all answers once every instance applied the
// change or lists the laggards (an instance stopped with SIGSTOP), a backend this file lacks is
// refused, and an instance that stops cleanly leaves the fleet at once (its lease revoked), not
// lease_ttl later.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/etcd_server.h"
#include "tests/support/fleet_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kFleetBackendsPrefix[] = "/switchyard/backends-test";

class FleetBackendsTest : public FleetFixture {
 protected:
  // Generous deadlines: etcd, three instances and the demo backends share two cores with other
  // builds.
  FleetBackendsTest()
      : FleetFixture([] {
          Options options;
          options.etcd = FleetEtcd::kPlain;
          options.wait_timeout = milliseconds(20000);
          options.stop_timeout = milliseconds(15000);
          return options;
        }()) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(FleetFixture::SetUp());
    if (IsSkipped()) return;
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(startInstance(i, configOf(i)));
    ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["instances"].size() == 3; }))
        << fleetStatus(0).dump();
  }

  std::string blueAddress() const { return absl::StrCat("127.0.0.1:", blue_.port); }

  // Route "web" to pool "main", whose two backends are the blue and the green demo backends:
  // which one answers shows which ones take traffic. A lease_ttl of 60 s, so that a registration
  // that goes sooner went because its instance left, not because its lease expired.
  std::string configOf(int index) const {
    return absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
        "[[pools]]\nname = \"main\"\nbackends = [\"127.0.0.1:",
        blue_.port, "\", \"127.0.0.1:", green_.port,
        "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green_.port,
        "\"]\n\n[[routes]]\nname = \"web\"\npool = \"main\"\n\n[fleet]\netcd = [\"",
        etcd_.clientUrl(), "\"]\nprefix = \"", kFleetBackendsPrefix, "\"\ninstance_id = \"i",
        index + 1,
        "\"\nlease_ttl = \"60s\"\nrequest_timeout = \"5s\"\nreconnect_interval = \"100ms\"\n");
  }

  nlohmann::json status(int index) {
    AdminResult result = adminCall(instance(index).admin, "GET", "/admin/status");
    return result.status == 200 ? result.body : nlohmann::json();
  }

  // The admin state of the blue backend of pool "main" on instance `index`.
  std::string blueAdminState(int index) {
    for (const nlohmann::json& pool : status(index).value("pools", nlohmann::json::array())) {
      if (pool.value("name", "") != "main") continue;
      for (const nlohmann::json& backend : pool["backends"]) {
        if (backend.value("address", "") == blueAddress()) return backend.value("admin_state", "");
      }
    }
    return "(absent)";
  }

  // Eight requests to instance `index` all answered by `backend`.
  bool onlyServedBy(int index, const std::string& backend) {
    for (int i = 0; i < 8; ++i) {
      if (fleetServedBy(instance(index).port()) != backend) return false;
    }
    return true;
  }
  bool servedBy(int index, const std::string& backend) {
    for (int i = 0; i < 20; ++i) {
      if (fleetServedBy(instance(index).port()) == backend) return true;
    }
    return false;
  }

  nlohmann::json storedState() {
    std::optional<std::string> stored = etcd_.get(absl::StrCat(kFleetBackendsPrefix, "/state"));
    return stored.has_value() ? nlohmann::json::parse(*stored, nullptr, false) : nlohmann::json();
  }
};

TEST_F(FleetBackendsTest, DrainOnOneInstanceDrainsTheBackendOnAllAndEnableBringsItBack) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(servedBy(i, "blue")) << i;

  AdminResult drained =
      adminCall(instance(0).admin, "POST",
                absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/drain"));
  ASSERT_EQ(drained.status, 200) << drained.text();
  EXPECT_GT(drained.body.value("fleet_revision", int64_t{0}), 0) << drained.text();
  // Answered once its own workers stopped sending there.
  EXPECT_TRUE(onlyServedBy(0, "green"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return onlyServedBy(i, "green"); })) << i;
    const std::string admin_state = blueAdminState(i);
    EXPECT_TRUE(admin_state == "draining" || admin_state == "drained") << i << ": " << admin_state;
  }
  EXPECT_EQ(storedState()["backends"]["main"][blueAddress()], "draining") << storedState().dump();

  // Disable on another instance, enable on the third: each reaches all.
  AdminResult disabled =
      adminCall(instance(1).admin, "POST",
                absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/disable"));
  ASSERT_EQ(disabled.status, 200) << disabled.text();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return blueAdminState(i) == "disabled"; }))
        << i << ": " << blueAdminState(i);
  }
  AdminResult enabled =
      adminCall(instance(2).admin, "POST",
                absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/enable"));
  ASSERT_EQ(enabled.status, 200) << enabled.text();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return blueAdminState(i) == "ready"; }))
        << i << ": " << blueAdminState(i);
    EXPECT_TRUE(fleetWaitFor([&] { return servedBy(i, "blue"); })) << i;
  }
  EXPECT_FALSE(storedState()["backends"].contains("main")) << storedState().dump();
}

TEST_F(FleetBackendsTest, LocalDrainHoldsOnOneInstanceOnly) {
  AdminResult local =
      adminCall(instance(1).admin, "POST",
                absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/drain?local=1"));
  ASSERT_EQ(local.status, 200) << local.text();
  EXPECT_EQ(local.body["local"], true) << local.text();
  EXPECT_TRUE(onlyServedBy(1, "green"));
  EXPECT_EQ(blueAdminState(0), "ready");
  EXPECT_FALSE(storedState().value("backends", nlohmann::json::object()).contains("main"));
  // The next fleet change replaces it, and does not carry it to the others.
  AdminResult switched = adminCall(instance(0).admin, "POST", "/admin/switch?to=green&wait=all");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_EQ(blueAdminState(1), "ready");
  EXPECT_EQ(blueAdminState(2), "ready");
}

TEST_F(FleetBackendsTest, BackendChangeRacingAnotherChangeGetsA409AndTheFleetAgrees) {
  bool saw_conflict = false;
  for (int round = 0; round < 20 && !saw_conflict; ++round) {
    std::atomic<int> ready{0};
    int statuses[2] = {0, 0};
    std::string texts[2];
    const std::string verb = round % 2 == 0 ? "drain" : "enable";
    const std::string targets[2] = {
        absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/", verb),
        absl::StrCat("/admin/switch?to=", round % 2 == 0 ? "green" : "main")};
    std::vector<std::thread> racers;
    for (int i = 0; i < 2; ++i) {
      racers.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        AdminResult result = adminCall(instance(i).admin, "POST", targets[i]);
        statuses[i] = result.status;
        texts[i] = result.text();
      });
    }
    for (auto& racer : racers) racer.join();
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(statuses[i] == 200 || statuses[i] == 409) << statuses[i] << " " << texts[i];
    }
    ASSERT_TRUE(statuses[0] == 200 || statuses[1] == 200) << texts[0] << " / " << texts[1];
    if (statuses[0] == 409 || statuses[1] == 409) {
      saw_conflict = true;
      const int loser = statuses[0] == 409 ? 0 : 1;
      EXPECT_NE(texts[loser].find("conflict"), std::string::npos) << texts[loser];
    }
    // Whoever won, every instance ends on what etcd holds: same backend state everywhere.
    ASSERT_TRUE(fleetWaitFor([&] {
      const nlohmann::json stored = storedState();
      const bool draining = stored.value("backends", nlohmann::json::object()).contains("main");
      for (int i = 0; i < 3; ++i) {
        const std::string admin_state = blueAdminState(i);
        if (draining != (admin_state == "draining" || admin_state == "drained")) return false;
      }
      return fleetStatus(0)["all_applied"] == true;
    })) << storedState().dump();
  }
  EXPECT_TRUE(saw_conflict) << "20 rounds of simultaneous changes never conflicted";
}

TEST_F(FleetBackendsTest, WaitAllAnswersOnceEveryInstanceAppliedTheChange) {
  AdminResult drained =
      adminCall(instance(0).admin, "POST",
                absl::StrCat("/admin/pools/main/backends/", blueAddress(), "/drain?wait=all"));
  ASSERT_EQ(drained.status, 200) << drained.text();
  const int64_t revision = drained.body["fleet_revision"].get<int64_t>();
  EXPECT_EQ(drained.body["fleet_wait"]["revision"], revision) << drained.text();
  EXPECT_EQ(drained.body["fleet_wait"]["applied"].size(), 3u) << drained.text();
  EXPECT_TRUE(drained.body["fleet_wait"]["laggards"].empty()) << drained.text();
  // No wait here: the answer came once every instance said it applied the change.
  for (int i = 1; i < 3; ++i) {
    EXPECT_GE(fleetStatus(i)["revision"].get<int64_t>(), revision) << i;
    const std::string admin_state = blueAdminState(i);
    EXPECT_TRUE(admin_state == "draining" || admin_state == "drained") << i << ": " << admin_state;
  }

  AdminResult switched =
      adminCall(instance(1).admin, "POST", "/admin/switch?to=green&wait=all&wait_timeout=30");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_EQ(switched.body["fleet_wait"]["applied"].size(), 3u) << switched.text();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fleetServedBy(instance(i).port()), "green") << i;

  // Bad uses are refused before anything changes.
  EXPECT_EQ(adminCall(instance(0).admin, "POST", "/admin/switch?to=main&wait=all&local=1").status,
            400);
  EXPECT_EQ(adminCall(instance(0).admin, "POST", "/admin/switch?to=main&wait_timeout=3").status,
            400);
  EXPECT_EQ(
      adminCall(instance(0).admin, "POST", "/admin/switch?to=main&wait=all&wait_timeout=x").status,
      400);
  EXPECT_EQ(fleetServedBy(instance(0).port()), "green");
}

TEST_F(FleetBackendsTest, WaitAllListsAStoppedInstanceAsALaggard) {
  // Stopped, instance 3 applies nothing, yet its registration stays while its lease (60 s)
  // lives: exactly a laggard.
  ASSERT_TRUE(instance(2).process.process->stopAndWait(std::chrono::seconds(10)));
  AdminResult switched =
      adminCall(instance(0).admin, "POST", "/admin/switch?to=green&wait=all&wait_timeout=8");
  EXPECT_EQ(switched.status, 504) << switched.text();
  // The change is made all the same.
  EXPECT_GT(switched.body.value("fleet_revision", int64_t{0}), 0) << switched.text();
  EXPECT_EQ(fleetServedBy(instance(0).port()), "green");
  ASSERT_EQ(switched.body["laggards"].size(), 1u) << switched.text();
  EXPECT_EQ(switched.body["laggards"][0]["id"], "i3") << switched.text();
  EXPECT_EQ(switched.body["fleet_wait"]["applied"].size(), 2u) << switched.text();
  EXPECT_NE(switched.body.value("error", "").find("i3"), std::string::npos) << switched.text();
  EXPECT_EQ(fleetStatus(1)["all_applied"], false);

  // Back, it catches up, and the next wait=all sees the whole fleet.
  ASSERT_TRUE(instance(2).process.process->signal(SIGCONT));
  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["all_applied"] == true; }))
      << fleetStatus(0).dump();
  AdminResult back = adminCall(instance(1).admin, "POST", "/admin/switch?to=main&wait=all");
  EXPECT_EQ(back.status, 200) << back.text();
  EXPECT_TRUE(back.body["fleet_wait"]["laggards"].empty()) << back.text();
}

TEST_F(FleetBackendsTest, StateNamingABackendThisFileLacksIsRefusedAndTheLastGoodStateKept) {
  nlohmann::json state = storedState();
  ASSERT_TRUE(state.is_object());
  state["backends"] = {{"main", {{"127.0.0.1:1", "draining"}}}};
  ASSERT_TRUE(etcd_.put(absl::StrCat(kFleetBackendsPrefix, "/state"), state.dump()).ok());
  // Every instance, not only the one checked below: an instance whose watch has not brought the
  // refused state yet would write its change against the revision before it and get a 409
  // conflict (optimistic concurrency), which is right but not what this test is about.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(i)["refused"].is_object(); }))
        << i << ": " << fleetStatus(i).dump();
  }
  EXPECT_NE(fleetStatus(1)["refused"]["error"].get<std::string>().find("127.0.0.1:1"),
            std::string::npos)
      << fleetStatus(1).dump();
  EXPECT_TRUE(servedBy(1, "blue"));
  // ?wait=all names the instances that refused a state, not only the slow ones: here every
  // one refused, so a good change overwrites it and the fleet converges again.
  AdminResult drained = adminCall(instance(2).admin, "POST",
                                  absl::StrCat("/admin/pools/main/backends/", blueAddress(),
                                               "/drain?wait=all&wait_timeout=30"));
  EXPECT_EQ(drained.status, 200) << drained.text();
  EXPECT_TRUE(fleetStatus(0)["refused"].is_null()) << fleetStatus(0).dump();
  EXPECT_TRUE(onlyServedBy(0, "green"));
}

TEST_F(FleetBackendsTest, CleanShutdownRemovesTheRegistrationAtOnce) {
  instance(2).process.process->signal(SIGTERM);
  ASSERT_EQ(instance(2).process.process->waitExit(milliseconds(15000)), 0)
      << instance(2).process.process->output();
  EXPECT_NE(instance(2).process.process->output().find("fleet_left"), std::string::npos);
  instances_[2].reset();
  // Well before the 60 s lease_ttl: gone because it left, not because its lease expired.
  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["instances"].size() == 2; }))
      << fleetStatus(0).dump();
  // And ?wait=all no longer waits for it.
  AdminResult switched =
      adminCall(instance(0).admin, "POST", "/admin/switch?to=green&wait=all&wait_timeout=30");
  EXPECT_EQ(switched.status, 200) << switched.text();
  EXPECT_EQ(switched.body["fleet_wait"]["applied"].size(), 2u) << switched.text();
}

}  // namespace
}  // namespace sy::testing
