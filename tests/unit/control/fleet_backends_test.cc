#include "proxy/control/fleet_backends.h"

#include <utility>
#include <vector>

#include "control_test_util.h"
#include "gtest/gtest.h"

namespace sy::proxy::control {
namespace {

class FleetBackendsStateTest : public ControlTest {
 protected:
  routing::AdminState adminOf(const std::string& pool, const std::string& address) {
    const health::BackendRecord* found = state_.backend_states.find(pool, address);
    EXPECT_NE(found, nullptr) << pool << " " << address;
    return found != nullptr ? found->admin : routing::AdminState::kReady;
  }
};

TEST_F(FleetBackendsStateTest, SettingAStateAddsItAndReadyRemovesIt) {
  nlohmann::json backends = withBackendAdminState(nlohmann::json::object(), "green", "127.0.0.1:2",
                                                  routing::AdminState::kDraining);
  backends =
      withBackendAdminState(backends, "green", "127.0.0.1:3", routing::AdminState::kDisabled);
  EXPECT_EQ(backends, nlohmann::json::parse(
                          R"({"green":{"127.0.0.1:2":"draining","127.0.0.1:3":"disabled"}})"));
  backends = withBackendAdminState(backends, "green", "127.0.0.1:2", routing::AdminState::kReady);
  backends = withBackendAdminState(backends, "green", "127.0.0.1:3", routing::AdminState::kReady);
  EXPECT_EQ(backends, nlohmann::json::object());  // the pool goes with its last entry
}

TEST_F(FleetBackendsStateTest, UnknownPoolBackendOrStateIsRefusedWithItsName) {
  load(1);
  EXPECT_TRUE(
      validateFleetBackends(nlohmann::json::parse(R"({"green":{"127.0.0.1:2":"draining"}})"),
                            state_.backend_states)
          .ok());
  const absl::Status pool = validateFleetBackends(
      nlohmann::json::parse(R"({"purple":{"127.0.0.1:2":"draining"}})"), state_.backend_states);
  EXPECT_FALSE(pool.ok());
  EXPECT_NE(pool.message().find("purple"), std::string::npos) << pool;
  const absl::Status backend = validateFleetBackends(
      nlohmann::json::parse(R"({"green":{"127.0.0.1:9":"disabled"}})"), state_.backend_states);
  EXPECT_FALSE(backend.ok());
  EXPECT_NE(backend.message().find("127.0.0.1:9"), std::string::npos) << backend;
  EXPECT_FALSE(validateFleetBackends(nlohmann::json::parse(R"({"green":{"127.0.0.1:2":"sleepy"}})"),
                                     state_.backend_states)
                   .ok());
  EXPECT_FALSE(validateFleetBackends(nlohmann::json::array(), state_.backend_states).ok());
}

TEST_F(FleetBackendsStateTest, ApplyingSetsListedBackendsAndReadiesTheOthers) {
  load(1);
  bool changed = false;
  applyFleetBackends(
      nlohmann::json::parse(
          R"({"green":{"127.0.0.1:2":"draining"},"blue":{"127.0.0.1:1":"disabled"}})"),
      state_.backend_states, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(adminOf("green", "127.0.0.1:2"), routing::AdminState::kDraining);
  EXPECT_EQ(adminOf("blue", "127.0.0.1:1"), routing::AdminState::kDisabled);
  EXPECT_EQ(adminOf("green", "127.0.0.1:3"), routing::AdminState::kReady);
  EXPECT_EQ(fleetBackendsJson(state_.backend_states),
            nlohmann::json::parse(
                R"({"green":{"127.0.0.1:2":"draining"},"blue":{"127.0.0.1:1":"disabled"}})"));

  // The same again changes nothing; an empty object readies everyone.
  applyFleetBackends(fleetBackendsJson(state_.backend_states), state_.backend_states, &changed);
  EXPECT_FALSE(changed);
  applyFleetBackends(nlohmann::json::object(), state_.backend_states, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(adminOf("green", "127.0.0.1:2"), routing::AdminState::kReady);
  EXPECT_EQ(adminOf("blue", "127.0.0.1:1"), routing::AdminState::kReady);
}

}  // namespace
}  // namespace sy::proxy::control
