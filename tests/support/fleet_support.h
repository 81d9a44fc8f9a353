#pragma once

// What the fleet-mode integration tests share (tests/integration/fleet_*_test.cc): a fixture
// with a real etcd, the blue and green demo backends and Switchyard instances whose
// configuration each test writes, and the questions they ask the instances.
//
//   class FleetSomethingTest : public FleetFixture {
//    protected:
//     FleetSomethingTest() : FleetFixture([] {
//       Options options;
//       options.wait_timeout = std::chrono::seconds(20);
//       return options;
//     }()) {}
//   };
//   ASSERT_NO_FATAL_FAILURE(startInstance(0, configOf(0)));
//   EXPECT_TRUE(fleetWaitFor([&] { return fleetStatus(0)["instances"].size() == 3; }));

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/etcd_server.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"

namespace sy::testing {

// Which pool the proxy listening on `port` sends GET / to: the first line of the demo
// backend's answer (its name), "(failed)" without a 200.
std::string fleetServedBy(uint16_t port);

// The "fleet" object of /admin/status from the admin API on `admin`; null when the call fails.
nlohmann::json fleetStatusAt(uint16_t admin);

class FleetFixture : public ::testing::Test {
 protected:
  struct Instance {
    SwitchyardProcess process;
    uint16_t admin = 0;
    uint16_t port() const { return process.port(); }
  };

  // The etcd a fixture starts.
  enum class FleetEtcd {
    kNone,   // none: the test starts what it needs
    kPlain,  // one member, plain HTTP, no auth
    // One member with TLS (client certificates required) and etcd auth: user kFleetEtcdUser
    // with password kFleetEtcdPassword may use the keys under Options::auth_prefix.
    kTlsWithAuth,
  };

  // Set member by member (designated initializers that leave members out trip
  // -Wmissing-field-initializers).
  struct Options {
    FleetEtcd etcd = FleetEtcd::kPlain;
    // fleetWaitFor's deadline: etcd, the instances and the demo backends share two cores with
    // other builds, so a change may take seconds to reach every instance.
    std::chrono::milliseconds wait_timeout{15000};
    // How long TearDown and stopInstance wait for an instance to exit after SIGTERM.
    std::chrono::milliseconds stop_timeout{10000};
    // How long startInstance waits for an instance's `ready` event.
    std::chrono::milliseconds start_timeout{10000};
    // With kTlsWithAuth: the fleet prefix the instances' etcd user is granted.
    std::string auth_prefix;
  };

  // What etcd's TLS and auth need from an instance (with kTlsWithAuth): the [fleet] keys.
  static constexpr char kFleetEtcdServerName[] = "etcd.fleet.test";
  static constexpr char kFleetEtcdUser[] = "switchyard";
  static constexpr char kFleetEtcdPassword[] = "fleet-pass-5d1e";
  struct EtcdClientFiles {
    std::string ca;
    std::string cert;
    std::string key;
  };

  explicit FleetFixture(Options options) : options_(std::move(options)) {}

  // Skips the test without etcd; starts Options::etcd and the blue and green demo backends.
  void SetUp() override;
  // SIGTERM to every instance still running (SIGCONT first: a test may have stopped one),
  // expecting exit code 0; then stops etcd_.
  void TearDown() override;

  // Starts etcd_ as `kind` says; fails the test (fatally) when it cannot. SetUp calls it with
  // Options::etcd; a test whose fixture says kNone may call it itself.
  void startEtcd(FleetEtcd kind);

  // Starts an instance on `config` in slot `index` (growing instances_ as needed) and learns
  // its admin port; fails the test (fatally) when it cannot: call with ASSERT_NO_FATAL_FAILURE.
  void startInstance(size_t index, const std::string& config, const ChildProcess::Env& env = {});
  // SIGTERM, expecting exit code 0; the slot is empty afterwards.
  void stopInstance(size_t index);
  Instance& instance(size_t index) { return *instances_.at(index); }

  // The "fleet" object of instance `index`'s /admin/status; null when the call fails.
  nlohmann::json fleetStatus(size_t index) { return fleetStatusAt(instance(index).admin); }
  // Whether the first `count` running instances (all of them by default) send GET / to `pool`.
  bool allServe(const std::string& pool, size_t count = std::numeric_limits<size_t>::max());

  // waitUntil with Options::wait_timeout, or `timeout`.
  bool fleetWaitFor(const std::function<bool()>& condition) const {
    return fleetWaitFor(condition, options_.wait_timeout);
  }
  bool fleetWaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout) const;

  const Options options_;
  EtcdServer etcd_;
  // With kTlsWithAuth: the CA of etcd's certificate and the instances' client certificate.
  EtcdClientFiles etcd_client_files_;
  DemoBackendProcess blue_;
  DemoBackendProcess green_;
  std::vector<std::unique_ptr<Instance>> instances_;

 private:
  std::unique_ptr<TestCertificates> certificates_;
};

}  // namespace sy::testing
