#include "tests/support/rollout_support.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sy::testing {

std::string blueGreen(uint16_t blue, uint16_t green, const std::string& server,
                      const std::string& extra) {
  return absl::StrCat("[server]\nworkers = 2\n", server,
                      "\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
                      "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
                      blue, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green,
                      "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n", extra);
}

nlohmann::json rolloutBody(const nlohmann::json& steps, const nlohmann::json& analysis) {
  return {{"route", "web"}, {"pool", "green"}, {"steps", steps}, {"analysis", analysis}};
}

void RolloutProxyTest::startBlueGreen(const std::vector<std::string>& green_args,
                                      const std::string& server, const std::string& extra) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green", green_args));
  config_ = blueGreen(backendPort(0), backendPort(1), server, extra);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
}

AdminResult RolloutProxyTest::post(const std::string& target, const std::string& body) {
  return adminCall(admin_port_, "POST", target, {{"Content-Type", "application/json"}}, body);
}

nlohmann::json RolloutProxyTest::rollout(const std::string& route) {
  AdminResult result = admin("GET", "/admin/rollouts/" + route);
  EXPECT_EQ(result.status, 200) << result.text();
  return result.body;
}

bool RolloutProxyTest::waitForRollout(const std::function<bool(const nlohmann::json&)>& predicate,
                                      std::chrono::milliseconds timeout, const std::string& route) {
  return waitUntil(
      [&] {
        AdminResult result = admin("GET", "/admin/rollouts/" + route);
        return result.status == 200 && predicate(result.body);
      },
      timeout);
}

bool RolloutProxyTest::waitForState(const std::string& state, std::chrono::milliseconds timeout,
                                    const std::string& route) {
  return waitForRollout([&](const nlohmann::json& r) { return r["state"] == state; }, timeout,
                        route);
}

nlohmann::json RolloutProxyTest::webRoute(size_t index) {
  AdminResult status = admin("GET", "/admin/status");
  EXPECT_EQ(status.status, 200);
  return status.body["routes"][index];
}

}  // namespace sy::testing
