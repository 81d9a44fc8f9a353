#include "tests/support/fleet_support.h"

#include <signal.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"

namespace sy::testing {

using std::chrono::milliseconds;

std::string fleetServedBy(uint16_t port) {
  std::optional<Response> response = httpGet(port, "/");
  if (!response.has_value() || response->status != 200) return "(failed)";
  return response->body.substr(0, response->body.find('\n'));
}

nlohmann::json fleetStatusAt(uint16_t admin) {
  AdminResult status = adminCall(admin, "GET", "/admin/status");
  return status.status == 200 ? status.body.value("fleet", nlohmann::json()) : nlohmann::json();
}

void FleetFixture::SetUp() {
  if (!EtcdServer::available()) {
    GTEST_SKIP() << "etcd not installed (scripts/setup.sh --test)";
  }
  if (options_.etcd != FleetEtcd::kNone) {
    ASSERT_NO_FATAL_FAILURE(startEtcd(options_.etcd));
  }
  auto blue = startDemoBackend("blue");
  ASSERT_TRUE(blue.ok()) << blue.status();
  auto green = startDemoBackend("green");
  ASSERT_TRUE(green.ok()) << green.status();
  blue_ = *std::move(blue);
  green_ = *std::move(green);
}

void FleetFixture::TearDown() {
  for (auto& instance : instances_) {
    if (instance != nullptr && instance->process.process != nullptr) {
      instance->process.process->signal(SIGCONT);  // one a test stopped with SIGSTOP
      instance->process.process->signal(SIGTERM);
      EXPECT_EQ(instance->process.process->waitExit(options_.stop_timeout), 0)
          << instance->process.process->output();
    }
  }
  // After the instances: they never stop while cut off from etcd.
  etcd_.stop();
}

void FleetFixture::startEtcd(FleetEtcd kind) {
  if (kind == FleetEtcd::kTlsWithAuth) {
    auto certificates = TestCertificates::create();
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certificates_ = *std::move(certificates);
    // etcd's certificate names kFleetEtcdServerName and 127.0.0.1 (for etcdctl); the instances
    // verify the name through server_name while connecting to the address.
    auto server =
        certificates_->issue("etcd", KeyType::kEcdsa, {kFleetEtcdServerName, "127.0.0.1"});
    ASSERT_TRUE(server.ok()) << server.status();
    // Without a CN: etcd's gateway refuses client certificates that have one.
    auto client = certificates_->issue("fleet-client", KeyType::kEcdsa, {"fleet-client.test"}, 400,
                                       /*common_name=*/false);
    ASSERT_TRUE(client.ok()) << client.status();
    etcd_.useTls({.cert = server->cert,
                  .key = server->key,
                  .client_ca = certificates_->rootCa(),
                  .ctl_ca = certificates_->rootCa(),
                  .ctl_cert = client->cert,
                  .ctl_key = client->key});
    etcd_client_files_ = {.ca = certificates_->rootCa(), .cert = client->cert, .key = client->key};
  }
  const absl::Status started = etcd_.start();
  ASSERT_TRUE(started.ok()) << started;
  if (kind == FleetEtcd::kTlsWithAuth) {
    const absl::Status auth = etcd_.enableAuth("root-pass-91c4", kFleetEtcdUser, kFleetEtcdPassword,
                                               options_.auth_prefix);
    ASSERT_TRUE(auth.ok()) << auth;
  }
}

void FleetFixture::startInstance(size_t index, const std::string& config,
                                 const ChildProcess::Env& env) {
  if (instances_.size() <= index) instances_.resize(index + 1);
  auto process = startSwitchyard(config, {}, options_.start_timeout, env);
  ASSERT_TRUE(process.ok()) << process.status();
  auto instance = std::make_unique<Instance>();
  instance->process = *std::move(process);
  auto admin = adminPortOf(*instance->process.process);
  ASSERT_TRUE(admin.ok()) << admin.status();
  instance->admin = *admin;
  instances_[index] = std::move(instance);
}

void FleetFixture::stopInstance(size_t index) {
  Instance& stopping = instance(index);
  stopping.process.process->signal(SIGTERM);
  EXPECT_EQ(stopping.process.process->waitExit(options_.stop_timeout), 0)
      << stopping.process.process->output();
  instances_[index].reset();
}

bool FleetFixture::allServe(const std::string& pool, size_t count) {
  for (size_t i = 0; i < count && i < instances_.size(); ++i) {
    if (instances_[i] != nullptr && fleetServedBy(instances_[i]->port()) != pool) return false;
  }
  return true;
}

bool FleetFixture::fleetWaitFor(const std::function<bool()>& condition,
                                milliseconds timeout) const {
  return waitUntil(condition, timeout);
}

}  // namespace sy::testing
