// Access to the admin surface (issue 18) against a real process: named tokens with the read and
// operate roles, who made a change in the event log and in /admin/status "history", the probes
// listener that serves /healthz, /readyz and /metrics without a token, and the --check errors
// for tokens that could not work.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/health_support.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kOperateToken[] = "deploy-0b1f6e9a";
constexpr char kReadToken[] = "grafana-77c2d410";

Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Two pools and one route; `admin` is the [admin] table's body.
std::string accessConfig(uint16_t blue, uint16_t green, const std::string& admin) {
  return absl::StrCat("[server]\nworkers = 2\naccept_grace = \"0s\"\n\n",
                      "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
                      "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
                      blue, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green,
                      "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n\n[admin]\n", admin);
}

std::string namedTokens() {
  return absl::StrCat(
      "listen = \"127.0.0.1:0\"\nprobes_listen = \"127.0.0.1:0\"\n"
      "tokens = [\n  { name = \"deploy-bot\", token_env = \"SY_TEST_DEPLOY_TOKEN\", "
      "role = \"operate\" },\n  { name = \"grafana\", token = \"",
      kReadToken, "\", role = \"read\" },\n]\n");
}

class AdminAccessTest : public AdminProxyTest {
 protected:
  void startWithNamedTokens() {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(
        startProxyToml(accessConfig(backendPort(0), backendPort(1), namedTokens()),
                       {{"SY_TEST_DEPLOY_TOKEN", kOperateToken}}));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
    std::optional<nlohmann::json> probes =
        waitForLogEvent(*proxy_.process, "probes_listening", milliseconds(10000));
    ASSERT_TRUE(probes.has_value()) << proxy_.process->output();
    const std::string address = (*probes)["address"];
    probes_port_ = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  uint16_t probes_port_ = 0;
};

TEST_F(AdminAccessTest, ReadTokensSeeOperateTokensChangeAndTheHistorySaysWho) {
  ASSERT_NO_FATAL_FAILURE(startWithNamedTokens());

  // No token, or an unknown one: nothing.
  EXPECT_EQ(adminCall(admin_port_, "GET", "/admin/status").status, 401);
  EXPECT_EQ(adminCall(admin_port_, "GET", "/admin/status", bearer("guess")).status, 401);
  // Read: status yes, a switch no (403, recorded, nothing changed).
  AdminResult seen = adminCall(admin_port_, "GET", "/admin/status", bearer(kReadToken));
  ASSERT_EQ(seen.status, 200) << seen.text();
  AdminResult refused =
      adminCall(admin_port_, "POST", "/admin/switch?to=green", bearer(kReadToken));
  EXPECT_EQ(refused.status, 403) << refused.text();
  EXPECT_THAT(refused.text(), HasSubstr("read role"));
  // Operate: the switch goes through.
  AdminResult switched =
      adminCall(admin_port_, "POST", "/admin/switch?to=green", bearer(kOperateToken));
  ASSERT_EQ(switched.status, 200) << switched.text();

  // The event line of the switch names who and from where.
  std::optional<nlohmann::json> event =
      waitForLogEvent(*proxy_.process, "switch", milliseconds(10000));
  ASSERT_TRUE(event.has_value()) << proxy_.process->output();
  EXPECT_EQ(event->value("by", ""), "deploy-bot") << event->dump();
  EXPECT_THAT(event->value("from", ""), HasSubstr("127.0.0.1:")) << event->dump();

  // The history, newest first: the switch, then the refused attempt; GETs are not in it.
  AdminResult status = adminCall(admin_port_, "GET", "/admin/status", bearer(kReadToken));
  ASSERT_EQ(status.status, 200);
  const nlohmann::json& history = status.body["history"];
  ASSERT_EQ(history.size(), 2u) << history.dump();
  EXPECT_EQ(history[0]["by"], "deploy-bot");
  EXPECT_EQ(history[0]["target"], "/admin/switch?to=green");
  EXPECT_EQ(history[0]["method"], "POST");
  EXPECT_EQ(history[0]["status"], 200);
  EXPECT_THAT(history[0].value("from", ""), HasSubstr("127.0.0.1:"));
  EXPECT_FALSE(history[0].value("time", "").empty());
  EXPECT_EQ(history[1]["by"], "grafana");
  EXPECT_EQ(history[1]["status"], 403);
  EXPECT_EQ(status.body["routes"][0]["active"], "green") << status.body.dump();
}

TEST_F(AdminAccessTest, ProbesListenerServesProbesAndMetricsWithoutTokenAndNothingElse) {
  ASSERT_NO_FATAL_FAILURE(startWithNamedTokens());
  ASSERT_NE(probes_port_, 0);
  ASSERT_NE(probes_port_, admin_port_);
  EXPECT_EQ(adminCall(probes_port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(adminCall(probes_port_, "GET", "/readyz").status, 200);
  AdminResult metrics = adminCall(probes_port_, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.text(), HasSubstr("switchyard_"));
  // The admin API is not there, with or without a token: a probes port exposed beyond loopback
  // must not be a way in.
  for (const Headers& headers : {Headers{}, bearer(kOperateToken)}) {
    EXPECT_EQ(adminCall(probes_port_, "GET", "/admin/status", headers).status, 404);
    EXPECT_EQ(adminCall(probes_port_, "POST", "/admin/switch?to=green", headers).status, 404);
  }
  EXPECT_EQ(adminCall(probes_port_, "POST", "/readyz").status, 405);
  AdminResult status = adminCall(admin_port_, "GET", "/admin/status", bearer(kReadToken));
  EXPECT_EQ(status.body["routes"][0]["active"], "blue");
  EXPECT_TRUE(status.body["history"].empty()) << status.body.dump();
}

TEST(AdminAccessCheckTest, CheckRefusesTokensThatCouldNotWork) {
  TempDir dir;
  std::string output;
  struct Case {
    std::string admin;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"token = \"a-long-secret\"\ntoken_env = \"SY_TEST_TOKEN\"\n",
       "admin.token_env: set token or token_env, not both"},
      {"tokens = [ { name = \"ci\", token = \"x1-secret\" } ]\n", "admin.tokens[0].role"},
      {"tokens = [ { name = \"ci\", token = \"x1-secret\", role = \"root\" } ]\n",
       "admin.tokens[0].role"},
      {"tokens = [ { name = \"ci\", role = \"read\" } ]\n", "needs token or token_env"},
      {"tokens = [ { name = \"ci\", token = \"s-1\", role = \"read\" },\n"
       "  { name = \"ci\", token = \"s-2\", role = \"operate\" } ]\n",
       "duplicate token name \"ci\""},
      {"tokens = [ { name = \"a\", token = \"same\", role = \"read\" },\n"
       "  { name = \"b\", token = \"same\", role = \"operate\" } ]\n",
       "the same secret as tokens[0]"},
      {"listen = \"127.0.0.1:19931\"\nprobes_listen = \"127.0.0.1:19931\"\n",
       "is the admin API's address"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.admin);
    const std::string path = dir.writeFile("switchyard.toml", accessConfig(1, 2, c.admin));
    EXPECT_EQ(runSwitchyardToExit({"--check", path}, {}, &output), 1) << output;
    EXPECT_THAT(output, HasSubstr(c.expected));
  }

  // A token_env naming an unset variable fails the check, as it would fail the start.
  const std::string path =
      dir.writeFile("switchyard.toml",
                    accessConfig(1, 2,
                                 "tokens = [ { name = \"ci\", token_env = \"SY_TEST_UNSET_TOKEN\", "
                                 "role = \"operate\" } ]\n"));
  EXPECT_EQ(runSwitchyardToExit({"--check", path}, {{"SY_TEST_UNSET_TOKEN", ""}}, &output), 1);
  EXPECT_THAT(output, HasSubstr("admin.tokens[0].token_env names SY_TEST_UNSET_TOKEN, which is "
                                "not set (or empty)"));
  EXPECT_EQ(runSwitchyardToExit({"--check", path}, {{"SY_TEST_UNSET_TOKEN", "t-1"}}, &output), 0)
      << output;
}

}  // namespace
}  // namespace sy::testing
