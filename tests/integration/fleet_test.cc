// Fleet mode ([fleet], issue 21) against a real etcd and three Switchyard instances on loopback:
// a switch on one instance reaches the others, racing changes get one 200 and one 409, an
// instance cut off from etcd keeps serving and refuses fleet changes, resyncs when etcd is back,
// and a restarted instance comes up on the fleet's state.

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/etcd_server.h"
#include "tests/support/fleet_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kFleetPrefix[] = "/switchyard/test";

class FleetTest : public FleetFixture {
 protected:
  FleetTest()
      : FleetFixture([] {
          Options options;
          options.etcd = FleetEtcd::kPlain;
          options.wait_timeout = milliseconds(15000);
          return options;
        }()) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(FleetFixture::SetUp());
    if (IsSkipped()) return;
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(startInstance(i));
  }

  // Instance `index` ("i1".."i3"): blue and green pools (and "shadow", a mirror target), route
  // "web" to blue in its file.
  std::string configOf(int index) const {
    return absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
        "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
        blue_.port, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green_.port,
        "\"]\n\n[[pools]]\nname = \"shadow\"\nbackends = [\"127.0.0.1:", green_.port,
        "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n\n[fleet]\netcd = [\"",
        etcd_.clientUrl(), "\"]\nprefix = \"", kFleetPrefix, "\"\ninstance_id = \"i", index + 1,
        "\"\nlease_ttl = \"6s\"\nrequest_timeout = \"5s\"\nreconnect_interval = \"",
        reconnect_[index], "\"\n");
  }

  void startInstance(int index) { FleetFixture::startInstance(index, configOf(index)); }

  std::vector<std::string> reconnect_ = {"100ms", "100ms", "100ms"};
};

TEST_F(FleetTest, SwitchOnOneInstanceReachesAllAndStatusShowsTheFleet) {
  ASSERT_TRUE(allServe("blue"));
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["instances"].size() == 3; }))
      << fleetStatus(0).dump();

  AdminResult switched = adminCall(instance(0).admin, "POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_GT(switched.body["fleet_revision"].get<int64_t>(), 0);
  // Answered once its own workers route by it.
  EXPECT_EQ(fleetServedBy(instance(0).port()), "green");
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green"); }));

  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["all_applied"] == true; }))
      << fleetStatus(0).dump();
  nlohmann::json fleet = fleetStatus(1);
  EXPECT_EQ(fleet["connected"], true);
  EXPECT_EQ(fleet["instance_id"], "i2");
  EXPECT_EQ(fleet["revision"], switched.body["fleet_revision"]);
  AdminResult metrics = adminCall(instance(2).admin, "GET", "/metrics");
  EXPECT_NE(metrics.text().find("switchyard_fleet_connected 1"), std::string::npos);
  EXPECT_NE(metrics.text().find("switchyard_fleet_revision "), std::string::npos);
  EXPECT_NE(metrics.text().find("switchyard_fleet_last_sync_timestamp_seconds "),
            std::string::npos);
  // The fleet families as dashboards know them: names, types, help and values.
  std::string raw;
  absl::StatusOr<Exposition> exposition = scrapeMetrics(instance(2).admin, &raw);
  ASSERT_TRUE(exposition.ok()) << exposition.status() << "\n" << raw;
  const std::map<std::string, std::pair<std::string, std::string>> fleet_families = {
      {"switchyard_fleet_connected", {"gauge", "1 while this instance reaches etcd (fleet mode)"}},
      {"switchyard_fleet_revision",
       {"gauge", "etcd mod_revision of the fleet state this instance applied"}},
      {"switchyard_fleet_last_sync_timestamp_seconds",
       {"gauge", "When etcd last answered (Unix time)"}},
      {"switchyard_fleet_instances", {"gauge", "Live instances registered in etcd"}},
      {"switchyard_fleet_states_refused_total",
       {"counter", "Fleet states refused (pools this file lacks)"}},
      {"switchyard_fleet_conflicts_total",
       {"counter", "Changes refused for a concurrent change (409)"}},
      {"switchyard_fleet_leader",
       {"gauge", "1 while this instance is the fleet's leader (it runs the automated rollouts)"}},
  };
  for (const auto& [family, type_and_help] : fleet_families) {
    EXPECT_EQ(exposition->types().count(family) ? exposition->types().at(family) : "",
              type_and_help.first)
        << family;
    EXPECT_EQ(exposition->help().count(family) ? exposition->help().at(family) : "",
              type_and_help.second)
        << family;
  }
  EXPECT_EQ(exposition->value("switchyard_fleet_connected"), 1);
  EXPECT_EQ(exposition->value("switchyard_fleet_revision"),
            switched.body["fleet_revision"].get<double>());
  EXPECT_EQ(exposition->value("switchyard_fleet_instances"), 3);
  EXPECT_EQ(exposition->value("switchyard_fleet_states_refused_total"), 0);
  EXPECT_EQ(exposition->value("switchyard_fleet_conflicts_total"), 0);
  // Milliseconds since the epoch, within the last minute.
  const double last_sync =
      exposition->value("switchyard_fleet_last_sync_timestamp_seconds").value_or(0);
  EXPECT_NEAR(last_sync, absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()), 60);
  EXPECT_DOUBLE_EQ(last_sync * 1000, std::round(last_sync * 1000));

  // What etcd holds is what the instances serve.
  std::optional<std::string> stored = etcd_.get(absl::StrCat(kFleetPrefix, "/state"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(nlohmann::json::parse(*stored)["routes"]["web"]["active"], "green");
}

TEST_F(FleetTest, RacingChangesGetOne200AndOne409AndTheFleetAgrees) {
  bool saw_conflict = false;
  for (int round = 0; round < 20 && !saw_conflict; ++round) {
    std::atomic<int> ready{0};
    int statuses[2] = {0, 0};
    std::string texts[2];
    std::vector<std::thread> racers;
    for (int i = 0; i < 2; ++i) {
      // Two different changes, both from the same revision: a switch away from the pool
      // served now, and a mirror share new at each round.
      const std::string target =
          i == 0 ? absl::StrCat("/admin/switch?to=",
                                fleetServedBy(instance(0).port()) == "blue" ? "green" : "blue")
                 : absl::StrCat("/admin/mirror?pool=shadow&percent=", round + 1);
      racers.emplace_back([&, i, target] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        AdminResult result = adminCall(instance(i).admin, "POST", target);
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
    // Whoever won, every instance ends on what etcd holds.
    ASSERT_TRUE(fleetWaitFor([&] {
      std::optional<std::string> stored = etcd_.get(absl::StrCat(kFleetPrefix, "/state"));
      if (!stored.has_value()) return false;
      const std::string active = nlohmann::json::parse(*stored)["routes"]["web"]["active"];
      return allServe(active);
    }));
  }
  EXPECT_TRUE(saw_conflict) << "20 rounds of simultaneous changes never conflicted";
}

TEST_F(FleetTest, CutOffFromEtcdInstancesKeepServingRefuseChangesAndResyncWhenItIsBack) {
  ASSERT_EQ(adminCall(instance(0).admin, "POST", "/admin/switch?to=green").status, 200);
  ASSERT_TRUE(fleetWaitFor([&] { return allServe("green"); }));

  etcd_.stop();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(i)["connected"] == false; }))
        << fleetStatus(i).dump();
  }
  EXPECT_TRUE(allServe("green"));
  AdminResult metrics = adminCall(instance(1).admin, "GET", "/metrics");
  EXPECT_NE(metrics.text().find("switchyard_fleet_connected 0"), std::string::npos);

  AdminResult refused = adminCall(instance(1).admin, "POST", "/admin/switch?to=blue");
  EXPECT_EQ(refused.status, 503) << refused.text();
  EXPECT_NE(refused.body.value("error", "").find("etcd is unreachable"), std::string::npos)
      << refused.text();
  EXPECT_EQ(fleetServedBy(instance(1).port()), "green");

  // local=1 forces a change on this instance alone; the fleet's state replaces it later.
  AdminResult local = adminCall(instance(1).admin, "POST", "/admin/switch?to=blue&local=1");
  EXPECT_EQ(local.status, 200) << local.text();
  EXPECT_EQ(fleetServedBy(instance(1).port()), "blue");
  EXPECT_EQ(fleetStatus(1)["local_changes"], true);

  // etcd back: a change made there meanwhile (etcdctl, as an operator would) reaches everyone,
  // and the local change is replaced.
  ASSERT_TRUE(etcd_.start().ok());
  std::optional<std::string> stored = etcd_.get(absl::StrCat(kFleetPrefix, "/state"));
  ASSERT_TRUE(stored.has_value());
  nlohmann::json state = nlohmann::json::parse(*stored);
  state["routes"]["web"]["previous"] = "green";
  state["routes"]["web"]["active"] = "blue";
  ASSERT_TRUE(etcd_.put(absl::StrCat(kFleetPrefix, "/state"), state.dump()).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(i)["connected"] == true; }))
        << fleetStatus(i).dump();
  }
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("blue"); }));
  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(1)["local_changes"] == false; }));

  // And a change on one instance reaches the others again.
  AdminResult back = adminCall(instance(2).admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(back.status, 200) << back.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green"); }));
}

TEST_F(FleetTest, PartitionedInstanceAppliesAChangeMadeMeanwhileOnReconnect) {
  // Instance 3 retries etcd slowly: a change made as soon as etcd is back happens while it is
  // still cut off, and reaches it by its full read on reconnect.
  stopInstance(2);
  reconnect_[2] = "3s";
  ASSERT_NO_FATAL_FAILURE(startInstance(2));
  etcd_.stop();
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(2)["connected"] == false; }));
  ASSERT_TRUE(etcd_.start().ok());
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["connected"] == true; }));
  AdminResult switched = adminCall(instance(0).admin, "POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green"); }));
  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(2)["connected"] == true; }));
  EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["all_applied"] == true; }))
      << fleetStatus(0).dump();
}

TEST_F(FleetTest, AnInstanceWhoseLeaseExpiredWhileCutOffRegistersAnew) {
  // Instance 3 retries etcd slowly, so that its lease is gone before it is back: as when etcd
  // stays out of its reach longer than lease_ttl. It must take a new lease, not retry the old
  // one forever.
  stopInstance(2);
  reconnect_[2] = "5s";
  ASSERT_NO_FATAL_FAILURE(startInstance(2));
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["instances"].size() == 3; }))
      << fleetStatus(0).dump();
  etcd_.stop();
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(2)["connected"] == false; }));
  ASSERT_TRUE(etcd_.start().ok());
  absl::StatusOr<int> revoked = etcd_.revokeAllLeases();
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_GE(*revoked, 1);
  // Every instance back, each registered under a lease that exists, and staying connected.
  ASSERT_TRUE(fleetWaitFor(
      [&] {
        const nlohmann::json seen = fleetStatus(0);
        return seen["instances"].size() == 3 && fleetStatus(2)["connected"] == true &&
               fleetStatus(1)["connected"] == true && seen["connected"] == true;
      },
      milliseconds(30000)))
      << fleetStatus(2).dump();
  AdminResult switched = adminCall(instance(2).admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(switched.status, 200) << switched.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green"); }));
}

TEST_F(FleetTest, RestartedInstanceComesUpOnTheFleetsState) {
  stopInstance(2);
  ASSERT_EQ(adminCall(instance(0).admin, "POST", "/admin/switch?to=green").status, 200);
  ASSERT_TRUE(fleetWaitFor([&] { return allServe("green"); }));
  ASSERT_NO_FATAL_FAILURE(startInstance(2));
  // Its file says blue; its very first request goes to green.
  EXPECT_EQ(fleetServedBy(instance(2).port()), "green");
}

TEST_F(FleetTest, StateNamingAPoolThisFileLacksIsRefusedAndTheLastGoodStateKept) {
  std::optional<std::string> stored = etcd_.get(absl::StrCat(kFleetPrefix, "/state"));
  ASSERT_TRUE(stored.has_value());
  nlohmann::json state = nlohmann::json::parse(*stored);
  state["routes"]["web"]["active"] = "purple";
  ASSERT_TRUE(etcd_.put(absl::StrCat(kFleetPrefix, "/state"), state.dump()).ok());
  ASSERT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["refused"].is_object(); }))
      << fleetStatus(0).dump();
  EXPECT_NE(fleetStatus(0)["refused"]["error"].get<std::string>().find("purple"),
            std::string::npos);
  EXPECT_TRUE(allServe("blue"));
  AdminResult metrics = adminCall(instance(0).admin, "GET", "/metrics");
  EXPECT_NE(metrics.text().find("switchyard_fleet_states_refused_total 1"), std::string::npos);
  EXPECT_TRUE(
      waitForLogEvent(*instance(1).process.process, "fleet_state_refused", milliseconds(5000))
          .has_value());
  // A good change overwrites it (it compares with the refused state's revision).
  AdminResult switched = adminCall(instance(1).admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(switched.status, 200) << switched.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green"); }));
}

TEST_F(FleetTest, HundredSwitchesUnderLoadOnThreeInstancesFailNothing) {
  // Two keep-alive clients per instance for the whole test.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> failed{0};
  std::vector<std::string> failures(6);
  std::vector<std::thread> load;
  for (int i = 0; i < 6; ++i) {
    const uint16_t port = instance(i % 3).port();
    load.emplace_back([&, i, port] {
      HttpClient client(milliseconds(5000));
      if (!client.connect(port)) {
        failed.fetch_add(1);
        failures[i] = client.lastError();
        return;
      }
      while (!stop.load()) {
        std::optional<Response> response = client.request("GET", "/");
        const std::string pool = response.has_value() && response->status == 200
                                     ? response->body.substr(0, response->body.find('\n'))
                                     : "";
        if (pool == "blue" || pool == "green") {
          served.fetch_add(1);
        } else {
          failed.fetch_add(1);
          failures[i] =
              response.has_value() ? absl::StrCat("status ", response->status) : client.lastError();
          if (!client.connect(port)) return;
        }
      }
    });
  }
  // Each switch on the next instance, as operators on different instances would; the next one
  // waits until the fleet converged (an instance that has not seen the last change would get
  // a conflict, rightly).
  for (int flip = 0; flip < 100; ++flip) {
    const std::string target = flip % 2 == 0 ? "green" : "blue";
    AdminResult result =
        adminCall(instance(flip % 3).admin, "POST", absl::StrCat("/admin/switch?to=", target));
    ASSERT_EQ(result.status, 200) << "flip " << flip << ": " << result.text();
    ASSERT_EQ(fleetServedBy(instance(flip % 3).port()), target) << "flip " << flip;
    ASSERT_TRUE(fleetWaitFor([&] { return allServe(target); })) << "flip " << flip;
    ASSERT_TRUE(fleetWaitFor([&] {
      nlohmann::json fleet = fleetStatus(flip % 3);
      return fleet["all_applied"] == true;
    })) << "flip "
        << flip << ": " << fleetStatus(flip % 3).dump();
  }
  stop.store(true);
  for (std::thread& thread : load) thread.join();
  std::string why;
  for (const std::string& failure : failures) {
    if (!failure.empty()) why += failure + "; ";
  }
  EXPECT_EQ(failed.load(), 0u) << why;
  EXPECT_GT(served.load(), 1000u);
  EXPECT_TRUE(allServe("blue"));  // the 100th switch went back to blue, everywhere
}

}  // namespace
}  // namespace sy::testing
