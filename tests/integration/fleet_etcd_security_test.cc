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
constexpr char kSecuredFleetUser[] = "switchyard";
constexpr char kSecuredFleetPassword[] = "fleet-pass-5d1e";

// etcd (or three of them), the instances and the demo backends share two cores: generous.
bool securedFleetWait(const std::function<bool()>& condition,
                      milliseconds timeout = milliseconds(20000)) {
  return waitUntil(condition, timeout);
}

std::string securedFleetServedBy(uint16_t port) {
  std::optional<Response> response = httpGet(port, "/");
  if (!response.has_value() || response->status != 200) return "(failed)";
  return response->body.substr(0, response->body.find('\n'));
}

nlohmann::json securedFleetStatus(uint16_t admin) {
  AdminResult status = adminCall(admin, "GET", "/admin/status");
  return status.status == 200 ? status.body.value("fleet", nlohmann::json()) : nlohmann::json();
}

// Instances with blue and green pools, route "web" to blue in their files; [fleet] gets `fleet`
// (the keys after prefix and instance_id).
class SecuredFleetTest : public ::testing::Test {
 protected:
  struct Instance {
    SwitchyardProcess process;
    uint16_t admin = 0;
    uint16_t port() const { return process.port(); }
  };

  void SetUp() override {
    if (!EtcdServer::available()) GTEST_SKIP() << "etcd not installed (scripts/setup.sh --test)";
    auto blue = startDemoBackend("blue");
    ASSERT_TRUE(blue.ok()) << blue.status();
    auto green = startDemoBackend("green");
    ASSERT_TRUE(green.ok()) << green.status();
    blue_ = *std::move(blue);
    green_ = *std::move(green);
  }

  void TearDown() override {
    for (auto& instance : instances_) {
      if (instance != nullptr && instance->process.process != nullptr) {
        instance->process.process->signal(SIGTERM);
        EXPECT_EQ(instance->process.process->waitExit(milliseconds(10000)), 0)
            << instance->process.process->output();
      }
    }
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

  Instance& startInstance(const std::string& id, const std::string& fleet,
                          const ChildProcess::Env& env = {}) {
    auto process = startSwitchyard(configOf(id, fleet), {}, milliseconds(20000), env);
    EXPECT_TRUE(process.ok()) << process.status();
    auto instance = std::make_unique<Instance>();
    if (process.ok()) {
      instance->process = *std::move(process);
      auto admin = adminPortOf(*instance->process.process);
      EXPECT_TRUE(admin.ok()) << admin.status();
      if (admin.ok()) instance->admin = *admin;
    }
    instances_.push_back(std::move(instance));
    return *instances_.back();
  }

  bool allServe(const std::string& pool, size_t count) {
    for (size_t i = 0; i < count && i < instances_.size(); ++i) {
      if (securedFleetServedBy(instances_[i]->port()) != pool) return false;
    }
    return true;
  }

  DemoBackendProcess blue_;
  DemoBackendProcess green_;
  // Stopped after the instances (TearDown), so that they never stop while cut off from etcd.
  std::vector<std::unique_ptr<EtcdServer>> etcds_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

TEST_F(SecuredFleetTest, TlsWithClientCertificatesAndAuthCarryASwitchAndAWrongPasswordFails) {
  auto certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  // etcd's certificate names etcd.fleet.test and 127.0.0.1 (for etcdctl); the instances verify
  // the name through server_name while connecting to the address.
  auto server = (*certificates)->issue("etcd", KeyType::kEcdsa, {"etcd.fleet.test", "127.0.0.1"});
  ASSERT_TRUE(server.ok()) << server.status();
  // Without a CN: etcd's gateway refuses client certificates that have one.
  auto client = (*certificates)
                    ->issue("fleet-client", KeyType::kEcdsa, {"fleet-client.test"}, 400,
                            /*common_name=*/false);
  ASSERT_TRUE(client.ok()) << client.status();
  etcds_.push_back(std::make_unique<EtcdServer>());
  EtcdServer& etcd = *etcds_.back();
  etcd.useTls({.cert = server->cert,
               .key = server->key,
               .client_ca = (*certificates)->rootCa(),
               .ctl_ca = (*certificates)->rootCa(),
               .ctl_cert = client->cert,
               .ctl_key = client->key});
  const absl::Status started = etcd.start();
  ASSERT_TRUE(started.ok()) << started;
  const absl::Status auth = etcd.enableAuth("root-pass-91c4", kSecuredFleetUser,
                                            kSecuredFleetPassword, kSecuredFleetPrefix);
  ASSERT_TRUE(auth.ok()) << auth;

  const std::string fleet =
      absl::StrCat("etcd = [\"", etcd.clientUrl(), "\"]\nca_file = \"", (*certificates)->rootCa(),
                   "\"\ncert_file = \"", client->cert, "\"\nkey_file = \"", client->key,
                   "\"\nserver_name = \"etcd.fleet.test\"\nusername = \"", kSecuredFleetUser,
                   "\"\npassword_env = \"SY_TEST_ETCD_PASSWORD\"\n");
  Instance& first = startInstance("s1", fleet, {{"SY_TEST_ETCD_PASSWORD", kSecuredFleetPassword}});
  Instance& second = startInstance("s2", fleet, {{"SY_TEST_ETCD_PASSWORD", kSecuredFleetPassword}});
  // A third one with the wrong password: it starts, serves its file's state and says why it is
  // not in the fleet.
  Instance& outsider = startInstance("s3", fleet, {{"SY_TEST_ETCD_PASSWORD", "not-the-password"}});
  ASSERT_FALSE(HasFailure());

  ASSERT_TRUE(securedFleetWait([&] {
    const nlohmann::json status = securedFleetStatus(first.admin);
    return status["connected"] == true && status["instances"].size() == 2;
  })) << securedFleetStatus(first.admin).dump();
  EXPECT_EQ(securedFleetStatus(first.admin)["etcd"], etcd.clientUrl());

  AdminResult switched = adminCall(first.admin, "POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.text();
  EXPECT_TRUE(securedFleetWait([&] { return allServe("green", 2); }));
  EXPECT_EQ(securedFleetStatus(second.admin)["revision"], switched.body["fleet_revision"]);
  std::optional<std::string> stored = etcd.get(absl::StrCat(kSecuredFleetPrefix, "/state"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(nlohmann::json::parse(*stored)["routes"]["web"]["active"], "green");

  const nlohmann::json refused = securedFleetStatus(outsider.admin);
  EXPECT_EQ(refused["connected"], false) << refused.dump();
  EXPECT_THAT(refused.value("last_error", ""),
              HasSubstr("etcd authentication as \"switchyard\" failed"))
      << refused.dump();
  EXPECT_THAT(refused.value("last_error", ""), HasSubstr("invalid user ID or password"))
      << refused.dump();
  EXPECT_EQ(securedFleetServedBy(outsider.port()), "blue");
  AdminResult outsider_switch = adminCall(outsider.admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(outsider_switch.status, 503) << outsider_switch.text();
  // The instances in the fleet never listed it.
  EXPECT_EQ(securedFleetStatus(first.admin)["instances"].size(), 2u);
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
  for (int i = 0; i < 3; ++i) startInstance(absl::StrCat("m", i + 1), fleet);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(securedFleetWait([&] {
    return securedFleetStatus(instances_[0]->admin)["instances"].size() == 3;
  })) << securedFleetStatus(instances_[0]->admin).dump();

  // Kill the member the first instance talks to, as a crashed machine would.
  const std::string in_use = securedFleetStatus(instances_[0]->admin).value("etcd", "");
  size_t killed = members.size();
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i]->clientUrl() == in_use) killed = i;
  }
  ASSERT_LT(killed, members.size()) << in_use;
  members[killed]->kill();

  // Every instance ends on a live member, connected; a switch on any reaches all three.
  ASSERT_TRUE(securedFleetWait(
      [&] {
        for (const auto& instance : instances_) {
          const nlohmann::json status = securedFleetStatus(instance->admin);
          if (status["connected"] != true || status["etcd"] == in_use) return false;
        }
        return true;
      },
      milliseconds(30000)))
      << securedFleetStatus(instances_[0]->admin).dump() << "\n"
      << securedFleetStatus(instances_[1]->admin).dump() << "\n"
      << securedFleetStatus(instances_[2]->admin).dump();
  for (int flip = 0; flip < 4; ++flip) {
    const std::string target = flip % 2 == 0 ? "green" : "blue";
    AdminResult switched =
        adminCall(instances_[flip % 3]->admin, "POST", absl::StrCat("/admin/switch?to=", target));
    ASSERT_EQ(switched.status, 200) << "flip " << flip << ": " << switched.text();
    ASSERT_TRUE(securedFleetWait([&] { return allServe(target, 3); })) << "flip " << flip;
    ASSERT_TRUE(securedFleetWait([&] {
      return securedFleetStatus(instances_[flip % 3]->admin)["all_applied"] == true;
    })) << securedFleetStatus(instances_[flip % 3]->admin).dump();
  }
  // The member back: it rejoins, and the instances keep working.
  ASSERT_TRUE(members[killed]->start().ok());
  AdminResult back = adminCall(instances_[0]->admin, "POST", "/admin/switch?to=green");
  EXPECT_EQ(back.status, 200) << back.text();
  EXPECT_TRUE(securedFleetWait([&] { return allServe("green", 3); }));
}

}  // namespace
}  // namespace sy::testing
