// Pools that follow an SRV record (issue 20): a local authoritative server answers
// _http._tcp.app.switchyard.test with two targets on different ports of 127.0.0.1 (weights 1
// and 3, and a third of a lower priority that is never used); both become backends with the
// record's weights. The record then lists one target: the other is drained and removed with no
// failed request under keep-alive load. An SRV record that does not resolve refuses a start.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/dns_test_server.h"
#include "tests/support/health_support.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

constexpr char kSrvRecord[] = "_http._tcp.app.switchyard.test";
constexpr char kSrvTargetA[] = "a.switchyard.test";
constexpr char kSrvTargetB[] = "b.switchyard.test";
constexpr char kSrvTargetSpare[] = "spare.switchyard.test";

class SrvFollowTest : public AdminProxyTest {
 protected:
  // Demo backends b0, b1 and b2 on 127.0.0.1, each on a port of its own; the targets' names all
  // resolve to 127.0.0.1.
  void startSrvBackends() {
    ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
    ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
    ASSERT_NO_FATAL_FAILURE(startBackend("b2"));
    for (const char* target : {kSrvTargetA, kSrvTargetB, kSrvTargetSpare}) {
      dns_.setAddresses(target, {"127.0.0.1"}, 1);
    }
  }
  std::string srvAddress(size_t backend) const {
    return absl::StrCat("127.0.0.1:", backendPort(backend));
  }
  DnsTestServer::SrvTarget srvTarget(const char* name, size_t backend, uint16_t weight,
                                     uint16_t priority = 10) const {
    return {.target = name, .port = backendPort(backend), .weight = weight, .priority = priority};
  }
  std::string srvConfig() const {
    return absl::StrCat("[server]\ndns_servers = [\"", dns_.address(),
                        "\"]\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
                        "[[pools]]\nname = \"app\"\nresolve = true\nresolve_min_interval = "
                        "\"100ms\"\nresolve_max_interval = \"1s\"\nbackends = [{ srv = \"",
                        kSrvRecord, "\" }]\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
  }
  // The pool's backends as address -> weight.
  std::map<std::string, uint32_t> srvBackends() {
    std::map<std::string, uint32_t> backends;
    for (const nlohmann::json& b : poolBackends("app")) backends[b["address"]] = b["weight"];
    return backends;
  }

  DnsTestServer dns_;
};

TEST_F(SrvFollowTest, TargetsBecomeBackendsWithTheRecordsWeightsAndAVanishedOneIsDrained) {
  ASSERT_NO_FATAL_FAILURE(startSrvBackends());
  dns_.setSrv(kSrvRecord,
              {srvTarget(kSrvTargetA, 0, 1), srvTarget(kSrvTargetB, 1, 3),
               srvTarget(kSrvTargetSpare, 2, 5, 20)},
              1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(srvConfig()));
  EXPECT_EQ(srvBackends(),
            (std::map<std::string, uint32_t>{{srvAddress(0), 1}, {srvAddress(1), 3}}));

  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 30, seconds(10))) << load.failureSummary();
  ASSERT_TRUE(load.waitForMoreFrom("b1", 90, seconds(10))) << load.failureSummary();

  // One target left: the other is drained first (no new requests), then removed.
  dns_.setSrv(kSrvRecord, {srvTarget(kSrvTargetB, 1, 3), srvTarget(kSrvTargetSpare, 2, 5, 20)}, 1);
  ASSERT_TRUE(waitUntil(
      [&] {
        return srvBackends() == std::map<std::string, uint32_t>{{srvAddress(1), 3}};
      },
      seconds(20)))
      << status().dump();
  // The drain ended when the proxy finished b0's last exchange; its response can still be on
  // the way to the client (seen once in a suite run: b0 counted one more after the removal).
  // Each client waits for its answer before its next request, so by the time b1 served another
  // 200 such a response has arrived: count b0 from there.
  ASSERT_TRUE(load.waitForMoreFrom("b1", 200, seconds(10))) << load.failureSummary();
  const uint64_t b0_after = load.servedBy("b0");
  ASSERT_TRUE(load.waitForMoreFrom("b1", 200, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b0"), b0_after);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b2"), 0u);  // the lower priority is never used
}

TEST_F(SrvFollowTest, ANewWeightInTheRecordIsFollowed) {
  ASSERT_NO_FATAL_FAILURE(startSrvBackends());
  // Weight 0 ("no weight" in RFC 2782) is the smallest backend weight.
  dns_.setSrv(kSrvRecord, {srvTarget(kSrvTargetA, 0, 0), srvTarget(kSrvTargetB, 1, 3)}, 1);
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(srvConfig()));
  EXPECT_EQ(srvBackends(),
            (std::map<std::string, uint32_t>{{srvAddress(0), 1}, {srvAddress(1), 3}}));
  dns_.setSrv(kSrvRecord, {srvTarget(kSrvTargetA, 0, 4), srvTarget(kSrvTargetB, 1, 3)}, 1);
  ASSERT_TRUE(waitUntil(
      [&] {
        return srvBackends() ==
               std::map<std::string, uint32_t>{{srvAddress(0), 4}, {srvAddress(1), 3}};
      },
      seconds(20)))
      << status().dump();
}

TEST_F(SrvFollowTest, AnSrvRecordThatDoesNotResolveRefusesAStart) {
  ASSERT_NO_FATAL_FAILURE(startSrvBackends());
  // Unknown to the server: NXDOMAIN.
  absl::StatusOr<SwitchyardProcess> refused = startSwitchyard(srvConfig(), {}, seconds(10));
  ASSERT_FALSE(refused.ok());
  const std::string why(refused.status().message());
  EXPECT_NE(why.find("cannot resolve the SRV record"), std::string::npos) << why;
  EXPECT_NE(why.find(kSrvRecord), std::string::npos) << why;
}

}  // namespace
}  // namespace sy::testing
