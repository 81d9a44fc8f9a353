// Configuration from the environment, as containers and sidecars use it: SWITCHYARD_CONFIG names
// the file when -c does not, "${NAME}" in a value takes an environment variable, and with
// SWITCHYARD_UPSTREAM and no file the proxy runs the one-listener sidecar configuration.

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

class ConfigEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<DemoBackendProcess> backend = startDemoBackend("app");
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
  }

  void TearDown() override {
    if (proxy_ != nullptr) {
      proxy_->signal(SIGTERM);
      EXPECT_EQ(proxy_->waitExit(seconds(10)), 0) << proxy_->output();
    }
    backend_.process->signal(SIGTERM);
    EXPECT_EQ(backend_.process->waitExit(seconds(10)), 0);
  }

  // Starts `switchyard ARGS...` with `env` and returns the first listener's port (0 on failure).
  uint16_t startProxy(std::vector<std::string> args, const ChildProcess::Env& env) {
    args.insert(args.begin(), switchyardBinary());
    auto process = ChildProcess::start(args, env);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return 0;
    proxy_ = std::move(*process);
    std::optional<nlohmann::json> listening = waitForLogEvent(*proxy_, "listening", seconds(10));
    EXPECT_TRUE(listening.has_value()) << proxy_->output();
    if (!listening) return 0;
    EXPECT_TRUE(waitForLogEvent(*proxy_, "ready", seconds(10)).has_value()) << proxy_->output();
    const std::string address = (*listening)["address"];
    return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  int runToExit(std::vector<std::string> args, const ChildProcess::Env& env, std::string* output) {
    return runSwitchyardToExit(std::move(args), env, output);
  }

  std::string fileWithReference() const {
    return withTestAdmin(
        "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
        "[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:${APP_PORT}\"]\n"
        "[[routes]]\nname = \"default\"\npool = \"app\"\n");
  }

  DemoBackendProcess backend_;
  std::unique_ptr<ChildProcess> proxy_;
  TempDir dir_;
};

TEST_F(ConfigEnvironmentTest, SwitchyardConfigNamesTheFileAndVariablesFillItsValues) {
  const std::string path = dir_.writeFile("switchyard.toml", fileWithReference());
  const uint16_t port =
      startProxy({}, {{"SWITCHYARD_CONFIG", path}, {"APP_PORT", std::to_string(backend_.port)}});
  ASSERT_NE(port, 0);
  std::optional<Response> response = httpGet(port, "/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("X-Backend"), "app");
}

TEST_F(ConfigEnvironmentTest, CommandLineFileWinsOverSwitchyardConfig) {
  const std::string path = dir_.writeFile("switchyard.toml", fileWithReference());
  const uint16_t port = startProxy({"-c", path}, {{"SWITCHYARD_CONFIG", "/nonexistent.toml"},
                                                  {"APP_PORT", std::to_string(backend_.port)}});
  ASSERT_NE(port, 0);
  std::optional<Response> response = httpGet(port, "/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(ConfigEnvironmentTest, UnsetVariableFailsCheckAndStartNamingKeyAndVariable) {
  const std::string path = dir_.writeFile("switchyard.toml", fileWithReference());
  std::string output;
  EXPECT_EQ(runToExit({"--check", path}, {}, &output), 1);
  EXPECT_THAT(output, HasSubstr("pools[0].backends[0]: environment variable APP_PORT "
                                "(referenced as ${APP_PORT}) is not set"));
  EXPECT_EQ(runToExit({"-c", path}, {}, &output), 1);
  EXPECT_THAT(output, HasSubstr("APP_PORT"));
  EXPECT_THAT(output, HasSubstr("config_invalid"));
  // With the variable set, the same check passes.
  EXPECT_EQ(runToExit({"--check", path}, {{"APP_PORT", "9"}}, &output), 0) << output;
}

TEST_F(ConfigEnvironmentTest, SidecarModeRunsWithoutAFile) {
  const uint16_t port =
      startProxy({}, {{"SWITCHYARD_UPSTREAM", absl::StrCat("127.0.0.1:", backend_.port)},
                      {"SWITCHYARD_LISTEN", "127.0.0.1:0"},
                      {"SWITCHYARD_ADMIN", "127.0.0.1:0"},
                      {"SWITCHYARD_ACCESS_LOG", "-"}});
  ASSERT_NE(port, 0);
  std::optional<Response> response = httpGet(port, "/sidecar");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("X-Backend"), "app");
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  EXPECT_EQ(adminCall(*admin_port, "GET", "/healthz").status, 200);
  // `switchyard healthcheck`, the container HEALTHCHECK, sees the same.
  std::string output;
  EXPECT_EQ(runToExit({"healthcheck", absl::StrCat("127.0.0.1:", *admin_port)}, {}, &output), 0)
      << output;
  EXPECT_EQ(runToExit({"healthcheck"},
                      {{"SWITCHYARD_ADMIN", absl::StrCat("127.0.0.1:", *admin_port)}}, &output),
            0)
      << output;
  EXPECT_EQ(
      runToExit({"healthcheck", absl::StrCat("127.0.0.1:", *admin_port), "/nothing"}, {}, &output),
      1);
  EXPECT_THAT(output, HasSubstr("status 404"));
  EXPECT_EQ(runToExit({"healthcheck", absl::StrCat("127.0.0.1:", refusingPort())}, {}, &output), 1);
  // SWITCHYARD_ACCESS_LOG=- writes the access log to standard output.
  EXPECT_TRUE(proxy_
                  ->waitForLine(
                      [](const std::string& line) {
                        return line.find("\"path\":\"/sidecar\"") != std::string::npos;
                      },
                      seconds(10))
                  .has_value())
      << proxy_->output();
}

TEST_F(ConfigEnvironmentTest, SidecarModeIsCheckedLikeAFile) {
  std::string output;
  EXPECT_EQ(runToExit({"--check"}, {{"SWITCHYARD_UPSTREAM", "127.0.0.1:3000"}}, &output), 0)
      << output;
  EXPECT_THAT(output, HasSubstr("<SWITCHYARD_* environment>: configuration is valid"));
  EXPECT_EQ(runToExit({"--check"},
                      {{"SWITCHYARD_UPSTREAM", "127.0.0.1:3000"}, {"SWITCHYARD_LISTEN", "nowhere"}},
                      &output),
            1);
  EXPECT_THAT(output, HasSubstr("listeners[0].listen"));
  EXPECT_EQ(runToExit({}, {{"SWITCHYARD_UPSTREAM", ""}}, &output), 2);
  EXPECT_THAT(output, HasSubstr("SWITCHYARD_UPSTREAM is set but empty"));
  EXPECT_EQ(runToExit({"--check"}, {}, &output), 2);
  EXPECT_THAT(output, HasSubstr("--check needs a configuration"));
}

}  // namespace
}  // namespace sy::testing
