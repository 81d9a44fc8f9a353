// The console against a real process (issue 18): the embedded page with its policy, GET
// /admin/stats filling with live figures and the switch marker, and a cross-origin POST
// /admin/switch (as a page on another origin would send it from the operator's browser) refused
// with nothing changed; a rebound Host refused too.

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using ::testing::HasSubstr;

std::string consoleConfig(uint16_t blue, uint16_t green) {
  return absl::StrCat("[server]\nworkers = 2\naccept_grace = \"0s\"\n\n",
                      "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
                      "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
                      blue, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green,
                      "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n\n[admin]\n"
                      "listen = \"127.0.0.1:0\"\n");
}

class ConsoleIntegrationTest : public AdminProxyTest {
 protected:
  void startBlueGreen() {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(consoleConfig(backendPort(0), backendPort(1))));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }
  std::string origin() const { return absl::StrCat("http://127.0.0.1:", admin_port_); }
  static std::string consoleServedBy(const std::optional<Response>& response) {
    if (!response.has_value() || response->status != 200) return "(failed)";
    return response->body.substr(0, response->body.find('\n'));
  }
};

TEST_F(ConsoleIntegrationTest, ServesThePageAndItsFilesWithThePolicy) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  AdminResult page = admin("GET", "/");
  ASSERT_EQ(page.status, 200) << page.text();
  ASSERT_TRUE(page.response.has_value());
  EXPECT_THAT(page.text(), HasSubstr("Switchyard console"));
  EXPECT_THAT(page.response->header("content-security-policy").value_or(""),
              HasSubstr("default-src 'none'; script-src 'self'"));
  EXPECT_EQ(page.response->header("content-type").value_or(""), "text/html; charset=utf-8");
  for (const char* file : {"/ui/console.js", "/ui/console.css", "/ui"}) {
    EXPECT_EQ(admin("GET", file).status, 200) << file;
  }
}

TEST_F(ConsoleIntegrationTest, StatsFillWithTrafficAndMarkTheSwitch) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(consoleServedBy(httpGet(port(), "/")), "blue");
  ASSERT_EQ(admin("POST", "/admin/switch?to=green", {{"Origin", origin()}}).status, 200);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(consoleServedBy(httpGet(port(), "/")), "green");
  // The sampler reads once a second: wait for both pools' requests to show in a window.
  nlohmann::json stats;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    AdminResult result = admin("GET", "/admin/stats");
    ASSERT_EQ(result.status, 200) << result.text();
    stats = result.body;
    if (stats["pools"]["green"]["windows"]["60s"]["requests"].get<int>() >= 20 &&
        stats["pools"]["blue"]["windows"]["60s"]["requests"].get<int>() >= 20) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling, not a fixed wait
  }
  EXPECT_EQ(stats["routes"]["web"]["windows"]["60s"]["requests"], 40) << stats.dump();
  EXPECT_EQ(stats["pools"]["green"]["windows"]["60s"]["requests"], 20) << stats.dump();
  EXPECT_EQ(stats["pools"]["green"]["windows"]["60s"]["error_rate"], 0);
  EXPECT_FALSE(stats["pools"]["green"]["windows"]["60s"]["p50_ms"].is_null());
  EXPECT_EQ(stats["times"].size(), stats["routes"]["web"]["series"]["rps"].size());
  ASSERT_EQ(stats["markers"].size(), 1u) << stats.dump();
  EXPECT_EQ(stats["markers"][0]["what"], "switch");
  EXPECT_EQ(stats["markers"][0]["route"], "web");
}

TEST_F(ConsoleIntegrationTest, CrossOriginSwitchIsRefusedAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  // What a form or fetch() on http://evil.example sends to the admin listener.
  AdminResult refused = admin("POST", "/admin/switch?to=green",
                              {{"Origin", "http://evil.example"},
                               {"Sec-Fetch-Site", "cross-site"},
                               {"Sec-Fetch-Mode", "no-cors"},
                               {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(refused.status, 403) << refused.text();
  EXPECT_THAT(refused.text(), HasSubstr("cross-origin"));
  AdminResult same_site =
      admin("POST", "/admin/switch?to=green", {{"Sec-Fetch-Site", "same-site"}});
  EXPECT_EQ(same_site.status, 403) << same_site.text();
  // A rebound name (evil.example resolving to 127.0.0.1) with a "same-origin" request.
  AdminResult rebound = admin("POST", "/admin/switch?to=green",
                              {{"Host", absl::StrCat("evil.example:", admin_port_)},
                               {"Origin", absl::StrCat("http://evil.example:", admin_port_)},
                               {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(rebound.status, 403) << rebound.text();

  nlohmann::json after = status();
  EXPECT_EQ(after["routes"][0]["active"], "blue") << after.dump();
  EXPECT_TRUE(after["history"].empty()) << after["history"].dump();
  EXPECT_EQ(consoleServedBy(httpGet(port(), "/")), "blue");

  // The console's own origin goes through.
  AdminResult own = admin("POST", "/admin/switch?to=green",
                          {{"Origin", origin()}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(own.status, 200) << own.text();
  EXPECT_EQ(consoleServedBy(httpGet(port(), "/")), "green");
}

}  // namespace
}  // namespace sy::testing
