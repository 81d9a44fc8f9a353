// Fleet mode ([fleet], issue 21) with a secured etcd and with an etcd cluster, both real and on
// loopback: TLS with client certificates and etcd's own authentication (a switch reaches the
// other instance; a wrong password is a clear failure that leaves the instance serving), the
// --check errors of those keys, and a three-member cluster that loses the member the instances
// talk to (SIGKILL) while the fleet keeps working.

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/etcd_server.h"
#include "tests/support/fleet_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certificates.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kSecuredFleetPrefix[] = "/switchyard/secured";

// Instances with blue and green pools, route "web" to blue in their files; [fleet] gets `fleet`
// (the keys after prefix and instance_id). Each test starts the etcd it needs.
class SecuredFleetTest : public FleetFixture {
 protected:
  // etcd (or three of them), the instances and the demo backends share two cores: generous.
  SecuredFleetTest()
      : FleetFixture([] {
          Options options;
          options.etcd = FleetEtcd::kNone;
          options.wait_timeout = milliseconds(20000);
          options.start_timeout = milliseconds(20000);
          options.auth_prefix = kSecuredFleetPrefix;
          return options;
        }()) {}

  void TearDown() override {
    FleetFixture::TearDown();
    // After the instances: they never stop while cut off from etcd.
    etcds_.clear();
  }

  std::string configOf(const std::string& id, const std::string& fleet) const {
    return absl::StrCat(
        "[server]\nworkers = 1\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
        "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
        blue_.port, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green_.port,
        "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n\n[fleet]\nprefix = \"",
        kSecuredFleetPrefix, "\"\ninstance_id = \"", id,
        "\"\nlease_ttl = \"6s\"\nrequest_timeout = \"3s\"\nreconnect_interval = \"200ms\"\n",
        fleet);
  }

  // Instance `id` in the next slot of instances_.
  void startInstance(const std::string& id, const std::string& fleet,
                     const ChildProcess::Env& env = {}) {
    FleetFixture::startInstance(instances_.size(), configOf(id, fleet), env);
  }

  std::vector<std::unique_ptr<EtcdServer>> etcds_;  // a cluster
};

TEST_F(SecuredFleetTest, TlsWithClientCertificatesAndAuthCarryASwitchAndAWrongPasswordFails) {
  ASSERT_NO_FATAL_FAILURE(startEtcd(FleetEtcd::kTlsWithAuth));

  const std::string fleet = absl::StrCat(
      "etcd = [\"", etcd_.clientUrl(), "\"]\nca_file = \"", etcd_client_files_.ca,
      "\"\ncert_file = \"", etcd_client_files_.cert, "\"\nkey_file = \"", etcd_client_files_.key,
      "\"\nserver_name = \"", kFleetEtcdServerName, "\"\nusername = \"", kFleetEtcdUser,
      "\"\npassword_env = \"SY_TEST_ETCD_PASSWORD\"\n");
  ASSERT_NO_FATAL_FAILURE(
      startInstance("s1", fleet, {{"SY_TEST_ETCD_PASSWORD", kFleetEtcdPassword}}));
  ASSERT_NO_FATAL_FAILURE(
      startInstance("s2", fleet, {{"SY_TEST_ETCD_PASSWORD", kFleetEtcdPassword}}));
  // A third one with the wrong password: it starts, serves its file's state and says why it is
  // not in the fleet.
  ASSERT_NO_FATAL_FAILURE(
      startInstance("s3", fleet, {{"SY_TEST_ETCD_PASSWORD", "not-the-password"}}));
  Instance& first = instance(0);
  Instance& second = instance(1);
  Instance& outsider = instance(2);

  ASSERT_TRUE(fleetWaitFor([&] {
    const nlohmann::json status = fleetStatusAt(first.admin);
    return status["connected"] == true && status["instances"].size() == 2;
  })) << fleetStatusAt(first.admin).dump();
  EXPECT_EQ(fleetStatusAt(first.admin)["etcd"], etcd_.clientUrl());

  AdminResult switched = adminCall(first.admin, "POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green", 2); }));
  EXPECT_EQ(fleetStatusAt(second.admin)["revision"], switched.body["fleet_revision"]);
  std::optional<std::string> stored = etcd_.get(absl::StrCat(kSecuredFleetPrefix, "/state"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(nlohmann::json::parse(*stored)["routes"]["web"]["active"], "green");

  const nlohmann::json refused = fleetStatusAt(outsider.admin);
  EXPECT_EQ(refused["connected"], false) << refused.dump();
  EXPECT_THAT(refused.value("last_error", ""),
              HasSubstr(absl::StrCat("etcd authentication as \"", kFleetEtcdUser, "\" failed")))
      << refused.dump();
  EXPECT_THAT(refused.value("last_error", ""), HasSubstr("invalid user ID or password"))
      << refused.dump();
  EXPECT_EQ(fleetServedBy(outsider.port()), "blue");
  AdminResult outsider_switch = adminCall(outsider.admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(outsider_switch.status, 503) << outsider_switch.text();
  // The instances in the fleet never listed it.
  EXPECT_EQ(fleetStatusAt(first.admin)["instances"].size(), 2u);
}

TEST_F(SecuredFleetTest, CheckNamesTheTlsAndAuthKeysThatCannotWork) {
  TempDir dir;
  const std::string ca = dir.writeFile("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  struct Case {
    std::string fleet;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"etcd = [\"https://127.0.0.1:2379\"]\ncert_file = \"" + ca + "\"\n",
       "fleet.key_file: cert_file and key_file go together"},
      {"etcd = [\"http://127.0.0.1:2379\"]\nca_file = \"" + ca + "\"\n",
       "fleet.ca_file: ca_file is for TLS to etcd, but no etcd URL is https://"},
      {"etcd = [\"http://127.0.0.1:2379\"]\nusername = \"switchyard\"\n",
       "fleet.password_env: username needs password_env"},
      {"etcd = [\"http://127.0.0.1:2379\"]\npassword_env = \"SY_TEST_ETCD_PASSWORD\"\n",
       "fleet.username: password_env needs username"},
      {"etcd = [\"https://127.0.0.1:2379\"]\nca_file = \"" + dir.file("missing.pem") + "\"\n",
       "fleet.ca_file: cannot read"},
      {"etcd = [\"http://127.0.0.1:2379\"]\nusername = \"switchyard\"\n"
       "password_env = \"SY_TEST_ETCD_PASSWORD_UNSET\"\n",
       "fleet.password_env names SY_TEST_ETCD_PASSWORD_UNSET, which is not set"},
      {"etcd = [\"ftp://127.0.0.1:2379\"]\n", "expected an etcd client URL"},
  };
  std::string output;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fleet);
    const std::string path = dir.writeFile("switchyard.toml", configOf("c1", c.fleet));
    EXPECT_EQ(
        runSwitchyardToExit({"--check", path}, {{"SY_TEST_ETCD_PASSWORD_UNSET", ""}}, &output), 1)
        << output;
    EXPECT_THAT(output, HasSubstr(c.expected));
  }
  // https:// without ca_file (the system's CAs) and a set password: valid.
  const std::string path = dir.writeFile(
      "switchyard.toml",
      configOf("c1",
               "etcd = [\"https://127.0.0.1:2379\", \"https://etcd-2.internal:2379\"]\n"
               "username = \"switchyard\"\npassword_env = \"SY_TEST_ETCD_PASSWORD\"\n"));
  EXPECT_EQ(runSwitchyardToExit({"--check", path}, {{"SY_TEST_ETCD_PASSWORD", "p"}}, &output), 0)
      << output;
}

TEST_F(SecuredFleetTest, ThreeMemberClusterLosingTheMemberInUseKeepsTheFleetWorking) {
  etcds_ = EtcdServer::cluster(3);
  std::vector<std::unique_ptr<EtcdServer>>& members = etcds_;
  const absl::Status started = EtcdServer::startCluster(members);
  ASSERT_TRUE(started.ok()) << started;
  std::vector<std::string> urls;
  for (const auto& member : members) urls.push_back(absl::StrCat("\"", member->clientUrl(), "\""));
  const std::string fleet = absl::StrCat("etcd = [", absl::StrJoin(urls, ", "), "]\n");
  for (int i = 0; i < 3; ++i)
    ASSERT_NO_FATAL_FAILURE(startInstance(absl::StrCat("m", i + 1), fleet));
  ASSERT_TRUE(fleetWaitFor([&] {
    return fleetStatusAt(instances_[0]->admin)["instances"].size() == 3;
  })) << fleetStatusAt(instances_[0]->admin).dump();

  // Kill the member the first instance talks to, as a crashed machine would.
  const std::string in_use = fleetStatusAt(instances_[0]->admin).value("etcd", "");
  size_t killed = members.size();
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i]->clientUrl() == in_use) killed = i;
  }
  ASSERT_LT(killed, members.size()) << in_use;
  members[killed]->kill();

  // Every instance ends on a live member, connected; a switch on any reaches all three.
  ASSERT_TRUE(fleetWaitFor(
      [&] {
        for (const auto& instance : instances_) {
          const nlohmann::json status = fleetStatusAt(instance->admin);
          if (status["connected"] != true || status["etcd"] == in_use) return false;
        }
        return true;
      },
      milliseconds(30000)))
      << fleetStatusAt(instances_[0]->admin).dump() << "\n"
      << fleetStatusAt(instances_[1]->admin).dump() << "\n"
      << fleetStatusAt(instances_[2]->admin).dump();
  for (int flip = 0; flip < 4; ++flip) {
    const std::string target = flip % 2 == 0 ? "green" : "blue";
    AdminResult switched =
        adminCall(instances_[flip % 3]->admin, "POST", absl::StrCat("/admin/switch?to=", target));
    ASSERT_EQ(switched.status, 200) << "flip " << flip << ": " << switched.text();
    ASSERT_TRUE(fleetWaitFor([&] { return allServe(target, 3); })) << "flip " << flip;
    ASSERT_TRUE(fleetWaitFor([&] {
      return fleetStatusAt(instances_[flip % 3]->admin)["all_applied"] == true;
    })) << fleetStatusAt(instances_[flip % 3]->admin).dump();
  }
  // The member back: it rejoins, and the instances keep working.
  ASSERT_TRUE(members[killed]->start().ok());
  AdminResult back = adminCall(instances_[0]->admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(back.status, 200) << back.text();
  EXPECT_TRUE(fleetWaitFor([&] { return allServe("green", 3); }));
}

}  // namespace
}  // namespace sy::testing
