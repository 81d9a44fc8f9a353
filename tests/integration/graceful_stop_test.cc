// Graceful stop that an outer load balancer can follow: on SIGTERM /readyz turns 503 at once,
// the listeners keep accepting for server.accept_grace (each new connection serves its request
// with Connection: close), then they close and the drain runs within shutdown_timeout. A
// second SIGTERM skips the rest of the grace; a request cut at the deadline is still logged.

#include <signal.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class GracefulStopTest : public ProxyTest {
 protected:
  uint16_t adminPort() {
    absl::StatusOr<uint16_t> admin = adminPortOf(*proxy_.process);
    EXPECT_TRUE(admin.ok()) << admin.status();
    return admin.value_or(0);
  }
};

// The outer load balancer: it probes /readyz and keeps sending each request on a new connection
// until it has seen the 503, and a few more after (its probes are periodic: it takes the
// instance out some time after the first failed one).
TEST_F(GracefulStopTest, ListenersKeepAcceptingDuringTheGraceWhileReadyzSays503) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)},
                  .workers = 2,
                  .server = "accept_grace = \"5s\"\nshutdown_timeout = \"10s\""}));
  const uint16_t admin_port = adminPort();
  ASSERT_NE(admin_port, 0);
  ASSERT_EQ(adminCall(admin_port, "GET", "/readyz").status, 200);
  // A keep-alive connection idle between requests, and one that has not sent its first yet.
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  ASSERT_TRUE(idle.request("GET", "/").has_value()) << idle.lastError();
  HttpClient fresh;
  ASSERT_NO_FATAL_FAILURE(connect(&fresh));

  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  ASSERT_TRUE(waitForLogEvent(*proxy_.process, "shutdown_started", milliseconds(5000)));
  // From the first moment of the shutdown, readiness fails.
  EXPECT_EQ(adminCall(admin_port, "GET", "/readyz").status, 503);

  int refused = 0;
  int failed = 0;
  int served = 0;
  int after_503 = 0;
  const Clock::time_point begin = Clock::now();
  while (after_503 < 10 && elapsedMs(begin) < 20000) {
    const int ready = adminCall(admin_port, "GET", "/readyz").status;
    EXPECT_EQ(ready, 503);
    if (ready == 503) ++after_503;
    HttpClient client(milliseconds(5000));
    if (!client.connect(port())) {
      ++refused;
      continue;
    }
    std::optional<Response> response = client.request("GET", "/");
    if (!response.has_value() || response->status != 200) {
      ADD_FAILURE() << "request " << served + failed << ": "
                    << (response.has_value() ? absl::StrCat(response->status) : client.lastError());
      ++failed;
      continue;
    }
    ++served;
    // Keep-alive ends with the grace: the client reconnects, to another instance.
    EXPECT_EQ(response->header("Connection"), "close");
  }
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(served, 10);

  // The idle keep-alive connection was closed; the fresh one still gets its request served.
  EXPECT_TRUE(idle.waitForPeerClose(milliseconds(5000))) << idle.lastError();
  std::optional<Response> first = fresh.request("GET", "/");
  ASSERT_TRUE(first.has_value()) << fresh.lastError();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("Connection"), "close");
  fresh.close();

  // Then the listeners close and the process exits cleanly.
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "accepting_stopped", milliseconds(20000)));
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0))
      << proxy_.process->output();
  HttpClient late(milliseconds(1000));
  EXPECT_FALSE(late.connect(port()));
}

TEST_F(GracefulStopTest, ASecondSigtermSkipsTheRestOfTheGrace) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxy({.backends = {backendPort(0)}, .server = "accept_grace = \"10m\""}));
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  ASSERT_TRUE(waitForLogEvent(*proxy_.process, "shutdown_started", milliseconds(5000)));
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "accept_grace_skipped", milliseconds(5000)));
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0))
      << proxy_.process->output();
}

TEST_F(GracefulStopTest, ARequestCutAtTheDeadlineIsStillLogged) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue", {"--shutdown-grace", "100ms"}));
  TempDir logs;
  const std::string log_path = logs.path() + "/access.log";
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      simpleConfig({.backends = {backendPort(0)}, .server = "shutdown_timeout = \"300ms\""}),
      "\n[access_log]\npath = \"", log_path, "\"\nflush_interval = \"50ms\"\n")));
  HttpClient in_flight;
  ASSERT_NO_FATAL_FAILURE(connect(&in_flight));
  const uint64_t before = stats(0).requests;
  ASSERT_TRUE(in_flight.sendRaw(in_flight.buildRequest("GET", "/delay/20000")));
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests > before; }, milliseconds(5000)));

  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0))
      << proxy_.process->output();
  std::ifstream in(log_path);
  std::string line;
  std::optional<nlohmann::json> cut;
  while (std::getline(in, line)) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json["path"] == "/delay/20000") cut = json;
  }
  ASSERT_TRUE(cut.has_value()) << "no access log line for the cut request";
  EXPECT_EQ((*cut)["status"], 503) << cut->dump();
  EXPECT_EQ((*cut)["reason"], "shutdown_timeout") << cut->dump();
}

}  // namespace
}  // namespace sy::testing
