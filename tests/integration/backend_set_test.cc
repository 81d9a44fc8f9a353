// Backends added, re-weighted and removed at run time through the admin API (issue 20), against
// real demo backends under keep-alive load: a new backend takes traffic only after its first
// passing check, a removed one is drained first, a weight moves the share, refused calls change
// nothing, and the runtime set survives a reload of the same file and a restart.

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

// HTTP checks every 100 ms.
const std::string kSetCheck = "[pools.health_check]\ninterval = \"100ms\"\ntimeout = \"500ms\"\n";

class BackendSetTest : public AdminProxyTest {
 protected:
  AdminResult addBackend(size_t index, int weight = 1) {
    return adminCall(
        admin_port_, "POST", "/admin/pools/app/backends", {{"Content-Type", "application/json"}},
        nlohmann::json{{"address", localAddress(backendPort(index))}, {"weight", weight}}.dump());
  }
  std::string backendPath(size_t index) {
    return absl::StrCat("/admin/pools/app/backends/", localAddress(backendPort(index)));
  }
};

TEST_F(BackendSetTest, AnAddedBackendTakesTrafficOnlyAfterItsFirstPassingCheck) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  // b1 starts failing its health checks, so that "no traffic before a passing check" shows.
  ASSERT_NO_FATAL_FAILURE(startBackend("b1", {"--health-status", "503"}));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0)}, .workers = 2, .pool = kSetCheck})));
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["eligible"] == true; }, seconds(5)));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(50, seconds(10))) << load.failureSummary();

  AdminResult added = addBackend(1);
  ASSERT_EQ(added.status, 201) << added.text();
  EXPECT_EQ(added.body["added"], localAddress(backendPort(1)));
  // Its first checks fail: it stays out, and the load goes on on b0 alone.
  ASSERT_TRUE(waitForBackend(
      "app", 1, [](const nlohmann::json& b) { return b["health"] == "unhealthy"; }, seconds(10)))
      << backend("app", 1).dump();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 100, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b1"), 0u);

  HttpClient control(seconds(5));
  ASSERT_TRUE(control.connect(backendPort(1)));
  ASSERT_EQ(control.request("POST", "/control/health?status=200")->status, 200);
  ASSERT_TRUE(load.waitForMoreFrom("b1", 50, seconds(10))) << load.failureSummary();
  EXPECT_EQ(backend("app", 1)["health"], "healthy");
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(BackendSetTest, ARemovedBackendIsDrainedFirstAndNothingFails) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1)}, .workers = 2})));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b1", 50, seconds(10))) << load.failureSummary();

  AdminResult removed = admin("DELETE", backendPath(1) + "?wait=10");
  ASSERT_EQ(removed.status, 200) << removed.text();
  EXPECT_EQ(removed.body["drained"], true);
  EXPECT_EQ(poolAddresses("app"), std::vector<std::string>{localAddress(backendPort(0))});
  auto metrics = Exposition::parse(admin("GET", "/metrics").text());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value("switchyard_backends", {{"pool", "app"}, {"state", "eligible"}}),
            std::optional<double>(1));
  EXPECT_EQ(metrics->value("switchyard_backends", {{"pool", "app"}, {"state", "out_by_operator"}}),
            std::optional<double>(0));
  const uint64_t b1_after = load.servedBy("b1");
  ASSERT_TRUE(load.waitForMoreFrom("b0", 200, seconds(10))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b1"), b1_after);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(BackendSetTest, AWeightOfThreeGivesABackendThreeQuartersOfTheTraffic) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1)}, .workers = 1})));
  AdminResult patched = admin("PATCH", backendPath(1), {{"Content-Type", "application/json"}});
  EXPECT_EQ(patched.status, 400) << "no body: " << patched.text();
  patched = adminCall(admin_port_, "PATCH", backendPath(1), {{"Content-Type", "application/json"}},
                      R"({"weight": 3})");
  ASSERT_EQ(patched.status, 200) << patched.text();
  int b1 = 0;
  constexpr int kRequests = 400;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<Response> response = httpGet(port(), "/");
    ASSERT_TRUE(response.has_value());
    if (response->header("X-Backend") == "b1") ++b1;
  }
  // Weighted round robin on one worker: 3 of every 4, give or take the cycle's phase.
  EXPECT_NEAR(b1, kRequests * 3 / 4, 10);
}

TEST_F(BackendSetTest, RefusedCallsAnswerJsonAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0)}, .workers = 1, .pool = kSetCheck})));
  const std::vector<std::string> before = poolAddresses("app");
  struct Case {
    const char* method;
    std::string target;
    std::string body;
    int status;
    std::string error_part;
  };
  const std::string b0 = localAddress(backendPort(0));
  const std::vector<Case> cases = {
      {"POST", "/admin/pools/app/backends", absl::StrCat(R"({"address": ")", b0, R"("})"), 409,
       "already"},
      {"POST", "/admin/pools/nope/backends", R"({"address": "127.0.0.1:1"})", 404, "unknown pool"},
      {"POST", "/admin/pools/app/backends", R"({"address": "localhost:80"})", 400,
       "IP address with a port"},
      {"POST", "/admin/pools/app/backends", R"({"address": "127.0.0.1:1", "weight": 0})", 400,
       "weight"},
      {"POST", "/admin/pools/app/backends", R"({"address": "127.0.0.1:1", "wieght": 2})", 400,
       "unknown key"},
      {"POST", "/admin/pools/app/backends", R"({"weight": 2})", 400, "address"},
      {"DELETE", "/admin/pools/app/backends/" + b0, "", 409, "last of pool"},
      {"DELETE", "/admin/pools/app/backends/127.0.0.1:1", "", 404, "no backend"},
      {"PATCH", "/admin/pools/app/backends/" + b0, R"({"weight": 1001})", 400, "weight"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.method, " ", c.target, " ", c.body));
    AdminResult result =
        adminCall(admin_port_, c.method, c.target, {{"Content-Type", "application/json"}}, c.body);
    EXPECT_EQ(result.status, c.status) << result.text();
    EXPECT_NE(result.body.value("error", "").find(c.error_part), std::string::npos)
        << result.text();
  }
  EXPECT_EQ(poolAddresses("app"), before);

  // The last backend taking traffic in a pool a route uses: only with force=1.
  ASSERT_EQ(addBackend(1).status, 201);
  killBackend(1);
  ASSERT_TRUE(waitForBackend(
      "app", 1, [](const nlohmann::json& b) { return b["health"] == "unhealthy"; }, seconds(10)))
      << backend("app", 1).dump();
  AdminResult refused = admin("DELETE", absl::StrCat("/admin/pools/app/backends/", b0, "?wait=0"));
  EXPECT_EQ(refused.status, 409) << refused.text();
  EXPECT_NE(refused.body.value("error", "").find("force=1"), std::string::npos);
  EXPECT_EQ(
      admin("DELETE", absl::StrCat("/admin/pools/app/backends/", b0, "?wait=0&force=1")).status,
      200);
  EXPECT_EQ(poolAddresses("app"), std::vector<std::string>{localAddress(backendPort(1))});
}

TEST_F(BackendSetTest, TheRuntimeSetSurvivesAReloadOfTheSameFileAndARestart) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  TempDir state_dir;
  const std::string state_file = state_dir.file("state.json");
  const std::string toml =
      simpleConfig({.backends = {backendPort(0)},
                    .workers = 1,
                    .server = absl::StrCat("state_file = \"", state_file, "\"\n")});
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  ASSERT_EQ(addBackend(1, 2).status, 201);
  const std::vector<std::string> both = {localAddress(backendPort(0)),
                                         localAddress(backendPort(1))};
  EXPECT_EQ(poolAddresses("app"), both);

  ASSERT_EQ(admin("POST", "/admin/reload").status, 200);
  EXPECT_EQ(poolAddresses("app"), both) << "the same file: the runtime backend stays";

  proxy_.process->signal(SIGTERM);
  ASSERT_EQ(proxy_.process->waitExit(seconds(10)), std::optional<int>(0))
      << proxy_.process->output();
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  EXPECT_EQ(poolAddresses("app"), both) << "restored from the state file";
  EXPECT_EQ(backend("app", 1)["weight"], 2);

  // The file's backends edited: its new intent wins and the runtime change goes.
  absl::StatusOr<nlohmann::json> reloaded =
      proxy_.reload(simpleConfig({.backends = {backendPort(1)},
                                  .workers = 1,
                                  .server = absl::StrCat("state_file = \"", state_file, "\"\n")}));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)["event"], "config_reloaded");
  EXPECT_EQ(poolAddresses("app"), std::vector<std::string>{localAddress(backendPort(1))});
}

}  // namespace
}  // namespace sy::testing
