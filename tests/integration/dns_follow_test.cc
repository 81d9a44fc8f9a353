// Pools that follow DNS (issue 20): a local authoritative server answers a name with 2, then 3,
// then 1 loopback addresses (demo backends on 127.0.0.1-3, one port) and Switchyard follows
// within the TTL under keep-alive load with no failed request; a server that stops answering
// leaves the last set in place; a name that does not resolve refuses a start and a reload.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/dns_test_server.h"
#include "tests/support/health_support.h"
#include "tests/support/prometheus_text.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

constexpr char kFollowedName[] = "app.switchyard.test";

class DnsFollowTest : public AdminProxyTest {
 protected:
  // Demo backends b0, b1, b2 on 127.0.0.1, 127.0.0.2 and 127.0.0.3, all on b0's port.
  void startThreeBackends() {
    ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
    ASSERT_NO_FATAL_FAILURE(startBackend("b1", {"--listen", ip(2)}));
    ASSERT_NO_FATAL_FAILURE(startBackend("b2", {"--listen", ip(3)}));
  }
  std::string ip(int last_byte) const {
    return absl::StrCat("127.0.0.", last_byte, ":", backendPort(0));
  }
  std::string hostOnly(int last_byte) const { return absl::StrCat("127.0.0.", last_byte); }
  std::string config(const std::string& pool_extra = "") const {
    return absl::StrCat("[server]\ndns_servers = [\"", dns_.address(),
                        "\"]\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
                        "[[pools]]\nname = \"app\"\nresolve = true\nresolve_min_interval = "
                        "\"100ms\"\nresolve_max_interval = \"1s\"\nbackends = [\"",
                        kFollowedName, ":", backendPort(0), "\"]\n", pool_extra,
                        "[[routes]]\nname = \"default\"\npool = \"app\"\n");
  }
  // The status of the backend at `address` in pool app (null when it is not there).
  nlohmann::json followedBackend(const std::string& address) {
    return backendStatus(status(), "app", address);
  }
  bool waitForAddresses(const std::vector<std::string>& expected) {
    return waitUntil([&] { return poolAddresses("app") == expected; }, seconds(20));
  }
  double resolutions(const char* result) {
    auto metrics = Exposition::parse(admin("GET", "/metrics").text());
    if (!metrics.ok()) return -1;
    return metrics->value("switchyard_dns_resolutions_total", {{"pool", "app"}, {"result", result}})
        .value_or(0);
  }

  DnsTestServer dns_;
};

TEST_F(DnsFollowTest, FollowsTwoThenThreeThenOneAddressWithNoFailedRequest) {
  ASSERT_NO_FATAL_FAILURE(startThreeBackends());
  dns_.setAddresses(kFollowedName, {hostOnly(1), hostOnly(2)}, 1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(config()));
  EXPECT_EQ(poolAddresses("app"), (std::vector<std::string>{ip(1), ip(2)}));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b1", 50, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b2"), 0u);

  dns_.setAddresses(kFollowedName, {hostOnly(1), hostOnly(2), hostOnly(3)}, 1);
  ASSERT_TRUE(waitForAddresses({ip(1), ip(2), ip(3)})) << status().dump();
  ASSERT_TRUE(load.waitForMoreFrom("b2", 50, seconds(10))) << load.failureSummary();

  // Two go: drained first (no new requests), then removed.
  dns_.setAddresses(kFollowedName, {hostOnly(2)}, 1);
  ASSERT_TRUE(waitForAddresses({ip(2)})) << status().dump();
  const uint64_t b0_after = load.servedBy("b0");
  const uint64_t b2_after = load.servedBy("b2");
  ASSERT_TRUE(load.waitForMoreFrom("b1", 200, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b0"), b0_after);
  EXPECT_EQ(load.servedBy("b2"), b2_after);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  EXPECT_GE(resolutions("success"), 3);
  EXPECT_EQ(resolutions("failure"), 0);
}

TEST_F(DnsFollowTest, ANewAddressTakesTrafficOnlyAfterItsFirstPassingCheck) {
  // The newcomer, "late", fails its health checks at first; it is on 127.0.0.1 because the test
  // may only connect there to make it pass. "first" is on 127.0.0.3, same port.
  ASSERT_NO_FATAL_FAILURE(startBackend("late", {"--health-status", "503"}));
  ASSERT_NO_FATAL_FAILURE(startBackend("first", {"--listen", ip(3)}));
  dns_.setAddresses(kFollowedName, {hostOnly(3)}, 1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      config("[pools.health_check]\ninterval = \"100ms\"\ntimeout = \"500ms\"\n")));
  ASSERT_TRUE(waitUntil([&] { return followedBackend(ip(3))["eligible"] == true; }, seconds(10)))
      << status().dump();
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("first", 50, seconds(10))) << load.failureSummary();

  dns_.setAddresses(kFollowedName, {hostOnly(3), hostOnly(1)}, 1);
  ASSERT_TRUE(
      waitUntil([&] { return followedBackend(ip(1))["health"] == "unhealthy"; }, seconds(20)))
      << status().dump();
  ASSERT_TRUE(load.waitForMoreFrom("first", 100, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("late"), 0u) << "no traffic before a passing check";

  HttpClient control(seconds(5));
  ASSERT_TRUE(control.connect(backendPort(0))) << control.lastError();
  ASSERT_EQ(control.request("POST", "/control/health?status=200")->status, 200);
  ASSERT_TRUE(load.waitForMoreFrom("late", 50, seconds(10))) << load.failureSummary();
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(DnsFollowTest, AServerThatStopsAnsweringLeavesTheLastSet) {
  ASSERT_NO_FATAL_FAILURE(startThreeBackends());
  dns_.setAddresses(kFollowedName, {hostOnly(1), hostOnly(2)}, 1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(config()));
  dns_.setSilent(true);
  ASSERT_TRUE(waitUntil([&] { return resolutions("failure") >= 2; }, seconds(30)));
  EXPECT_EQ(poolAddresses("app"), (std::vector<std::string>{ip(1), ip(2)}));
  LoadGenerator load({.port = port(), .clients = 2});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 20, seconds(10))) << load.failureSummary();
  ASSERT_TRUE(load.waitForMoreFrom("b1", 20, seconds(10))) << load.failureSummary();
  // Back, with another answer: followed again.
  dns_.setAddresses(kFollowedName, {hostOnly(3)}, 1);
  dns_.setSilent(false);
  ASSERT_TRUE(waitForAddresses({ip(3)})) << status().dump();
  ASSERT_TRUE(load.waitForMoreFrom("b2", 50, seconds(10))) << load.failureSummary();
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(DnsFollowTest, ANameThatDoesNotResolveRefusesAStartAndAReload) {
  ASSERT_NO_FATAL_FAILURE(startThreeBackends());
  // Unknown to the server: NXDOMAIN.
  absl::StatusOr<SwitchyardProcess> refused = startSwitchyard(config(), {}, seconds(10));
  ASSERT_FALSE(refused.ok());
  const std::string why(refused.status().message());
  EXPECT_NE(why.find("cannot resolve"), std::string::npos) << why;
  EXPECT_NE(why.find(kFollowedName), std::string::npos) << why;

  dns_.setAddresses(kFollowedName, {hostOnly(1)}, 1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(config()));
  std::string with_unknown = config();
  with_unknown.replace(with_unknown.find("backends = ["), 12,
                       "backends = [\"nowhere.switchyard.test:80\", ");
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(with_unknown);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)["event"], "config_reload_failed") << reloaded->dump();
  EXPECT_NE(reloaded->dump().find("nowhere.switchyard.test"), std::string::npos);
  EXPECT_EQ(poolAddresses("app"), std::vector<std::string>{ip(1)});

  // The admin API's backend changes are refused: DNS says what the pool has.
  AdminResult added =
      adminCall(admin_port_, "POST", "/admin/pools/app/backends",
                {{"Content-Type", "application/json"}}, nlohmann::json{{"address", ip(2)}}.dump());
  EXPECT_EQ(added.status, 409) << added.text();
  EXPECT_EQ(poolAddresses("app"), std::vector<std::string>{ip(1)});
}

}  // namespace
}  // namespace sy::testing
