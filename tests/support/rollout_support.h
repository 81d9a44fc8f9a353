#pragma once

// The fixture of the rollout tests (tests/integration/rollout*_test.cc): demo backends "blue"
// (backendPort(0), the route's pool) and "green" (backendPort(1), the canary), a proxy with the
// admin API, and the calls that start and watch a rollout.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/health_support.h"

namespace sy::testing {

// Pools blue and green, route "web" on blue; `server` goes into [server], `extra` (more tables:
// routes, [[rollouts]]) at the end.
std::string blueGreen(uint16_t blue, uint16_t green, const std::string& server = "",
                      const std::string& extra = "");

// A rollout of "green" on route "web" with short windows, as tests need them.
nlohmann::json rolloutBody(const nlohmann::json& steps, const nlohmann::json& analysis);

class RolloutProxyTest : public AdminProxyTest {
 protected:
  void startBlueGreen(const std::vector<std::string>& green_args = {},
                      const std::string& server = "", const std::string& extra = "");

  AdminResult post(const std::string& target, const std::string& body);
  AdminResult start(const nlohmann::json& body) { return post("/admin/rollouts", body.dump()); }
  nlohmann::json rollout(const std::string& route = "web");
  // Polls the rollout until `predicate` holds (true) or `timeout` passes.
  bool waitForRollout(const std::function<bool(const nlohmann::json&)>& predicate,
                      std::chrono::milliseconds timeout, const std::string& route = "web");
  bool waitForState(const std::string& state, std::chrono::milliseconds timeout,
                    const std::string& route = "web");
  // The route's entry of GET /admin/status (the first route by default).
  nlohmann::json webRoute(size_t index = 0);
  // Requests the canary (backend 1) received.
  uint64_t canaryRequests() { return stats(1).requests; }

  std::string config_;
};

}  // namespace sy::testing
