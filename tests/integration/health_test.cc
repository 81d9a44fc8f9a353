// Active health checks, passive outlier ejection, all-down policies and the 409 on switching,
// against real demo backends under continuous keep-alive load.

#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

// Fast checks: interval 100 ms, timeout 200 ms, rise 2, fall 3.
constexpr int kIntervalMs = 100;
constexpr int kTimeoutMs = 200;
constexpr int kRise = 2;
constexpr int kFall = 3;
const std::string kFastCheck = absl::StrCat(
    "[pools.health_check]\ninterval = \"", kIntervalMs, "ms\"\ntimeout = \"", kTimeoutMs,
    "ms\"\nhealthy_threshold = ", kRise, "\nunhealthy_threshold = ", kFall, "\n");
// Scheduling, publishing and polling (every 10 ms) on a busy machine: the measured times may
// exceed the theoretical bound by this much.
const milliseconds kSlack(kSanitizerBuild ? 400 : 150);

// POST `target` to a demo backend's control endpoint.
void backendControl(uint16_t port, const std::string& target) {
  HttpClient client;
  ASSERT_TRUE(client.connect(port)) << client.lastError();
  std::optional<Response> response = client.request("POST", target);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  ASSERT_EQ(response->status, 200) << response->body;
}

bool isHealthy(const nlohmann::json& b) { return b["health"] == "healthy"; }
bool isEligible(const nlohmann::json& b) { return b["eligible"] == true; }

class HealthTest : public AdminProxyTest {
 protected:
  // Waits until every listed backend of `pool` is healthy.
  void waitHealthy(std::string_view pool, const std::vector<size_t>& indices) {
    for (size_t i : indices) {
      ASSERT_TRUE(waitForBackend(pool, i, isHealthy, std::chrono::seconds(3)))
          << backend(pool, i).dump();
    }
  }

  // When `predicate` first held for backend `index`, polling every 5 ms; nullopt on timeout.
  std::optional<Clock::time_point> whenBackend(
      std::string_view pool, size_t index,
      const std::function<bool(const nlohmann::json&)>& predicate, milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const nlohmann::json state = backend(pool, index);
      const Clock::time_point now = Clock::now();
      if (!state.is_null() && predicate(state)) return now;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }
};

TEST_F(HealthTest, FailingCheckTakesABackendOutWithinIntervalTimesFallAndRiseBringsItBack) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0), backendPort(1)}, .workers = 2, .pool = kFastCheck})));
  ASSERT_NO_FATAL_FAILURE(waitHealthy("app", {0, 1}));

  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 20, std::chrono::seconds(5))) << load.failureSummary();

  // /health of b0 starts failing; its ordinary requests still succeed.
  ASSERT_NO_FATAL_FAILURE(backendControl(backendPort(0), "/control/health?status=503"));
  const Clock::time_point flipped = Clock::now();
  const std::optional<Clock::time_point> out = whenBackend(
      "app", 0, [](const nlohmann::json& b) { return !isEligible(b); }, std::chrono::seconds(5));
  ASSERT_TRUE(out.has_value()) << backend("app", 0).dump();
  const long out_ms = std::chrono::duration_cast<milliseconds>(*out - flipped).count();
  const nlohmann::json down = backend("app", 0);
  EXPECT_EQ(down["health"], "unhealthy");
  EXPECT_EQ(down["last_error"], "status 503");
  EXPECT_EQ(down["admin_state"], "ready");
  const long bound_out_ms = kIntervalMs * kFall + kTimeoutMs;
  EXPECT_LE(out_ms, bound_out_ms + kSlack.count())
      << "interval x fall + timeout = " << bound_out_ms << " ms";
  // At least fall - 1 intervals must pass: one failure is not enough.
  EXPECT_GE(out_ms, kIntervalMs * (kFall - 1) - 20);

  // Out of rotation means no request sent after the workers adopted it reaches b0.
  std::this_thread::sleep_for(milliseconds(50));
  const uint64_t b0_after_out = load.servedBy("b0");
  ASSERT_TRUE(load.waitForMore(200, std::chrono::seconds(5))) << load.failureSummary();
  EXPECT_EQ(load.servedBy("b0"), b0_after_out);

  ASSERT_NO_FATAL_FAILURE(backendControl(backendPort(0), "/control/health?status=200"));
  const Clock::time_point fixed = Clock::now();
  const std::optional<Clock::time_point> back =
      whenBackend("app", 0, isEligible, std::chrono::seconds(5));
  ASSERT_TRUE(back.has_value()) << backend("app", 0).dump();
  const long back_ms = std::chrono::duration_cast<milliseconds>(*back - fixed).count();
  EXPECT_EQ(backend("app", 0)["health"], "healthy");
  const long bound_back_ms = kIntervalMs * kRise + kTimeoutMs;
  EXPECT_LE(back_ms, bound_back_ms + kSlack.count())
      << "interval x rise + timeout = " << bound_back_ms << " ms";
  EXPECT_GE(back_ms, kIntervalMs * (kRise - 1) - 20);
  ASSERT_TRUE(load.waitForMoreFrom("b0", 20, std::chrono::seconds(5)));

  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  std::printf(
      "out of rotation after %ld ms (interval x fall + timeout = %ld ms), back after "
      "%ld ms (interval x rise + timeout = %ld ms), %lu requests, %lu failed\n",
      out_ms, bound_out_ms, back_ms, bound_back_ms, static_cast<unsigned long>(load.served()),
      static_cast<unsigned long>(load.failed()));
}

TEST_F(HealthTest, BackendKilledUnderLoadCostsNoIdempotentRequest) {
  for (const char* name : {"b0", "b1", "b2"}) ASSERT_NO_FATAL_FAILURE(startBackend(name));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1), backendPort(2)},
                    .workers = 2,
                    .pool = kFastCheck + "[pools.outlier_detection]\nconsecutive_failures = 2\n"
                                         "base_ejection_time = \"10s\"\n"})));
  ASSERT_NO_FATAL_FAILURE(waitHealthy("app", {0, 1, 2}));

  LoadGenerator load({.port = port(), .clients = 6});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 50, std::chrono::seconds(5))) << load.failureSummary();

  ASSERT_NO_FATAL_FAILURE(killBackend(0));
  const Clock::time_point killed = Clock::now();
  // Health checks see it within interval x fall; passive ejection possibly earlier.
  const std::optional<Clock::time_point> out = whenBackend(
      "app", 0, [](const nlohmann::json& b) { return !isEligible(b); }, std::chrono::seconds(5));
  ASSERT_TRUE(out.has_value()) << backend("app", 0).dump();
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["health"] == "unhealthy"; },
      std::chrono::seconds(3)));
  EXPECT_NE(backend("app", 0)["last_error"].get<std::string>().find("connect"), std::string::npos);
  // And after: the survivors carry everything.
  ASSERT_TRUE(load.waitForMoreFrom("b1", 100, std::chrono::seconds(5)));
  ASSERT_TRUE(load.waitForMoreFrom("b2", 100, std::chrono::seconds(5)));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  const bool ejected = proxy_.process->output().find("backend_ejected") != std::string::npos;
  std::printf(
      "killed backend out of rotation after %ld ms (passive ejection: %s), %lu requests, "
      "%lu failed\n",
      static_cast<long>(std::chrono::duration_cast<milliseconds>(*out - killed).count()),
      ejected ? "yes" : "no", static_cast<unsigned long>(load.served()),
      static_cast<unsigned long>(load.failed()));
}

TEST_F(HealthTest, SwitchToAPoolWithoutHealthyBackendNeedsForceAndAllDownPolicyDecides) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green", {"--health-status", "503"}));
  ASSERT_NO_FATAL_FAILURE(startBackend("red", {"--health-status", "503"}));
  const std::string toml = absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
      "[[pools]]\nname = \"blue\"\nbackends = [\"",
      localAddress(backendPort(0)),
      "\"]\n\n[[pools]]\nname = \"green\"\nwhen_all_down = \"panic\"\nbackends = [\"",
      localAddress(backendPort(1)), "\"]\n", kFastCheck,
      "\n[[pools]]\nname = \"red\"\nwhen_all_down = \"fail\"\nbackends = [\"",
      localAddress(backendPort(2)), "\"]\n", kFastCheck,
      "\n[[routes]]\nname = \"web\"\npool = \"blue\"\n");
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  auto unhealthy = [](const nlohmann::json& b) { return b["health"] == "unhealthy"; };
  ASSERT_TRUE(waitForBackend("green", 1, unhealthy, std::chrono::seconds(3)));
  ASSERT_TRUE(waitForBackend("red", 2, unhealthy, std::chrono::seconds(3)));

  for (const char* pool : {"green", "red"}) {
    AdminResult refused = admin("POST", absl::StrCat("/admin/switch?to=", pool));
    EXPECT_EQ(refused.status, 409) << refused.body.dump();
    EXPECT_NE(refused.body.value("error", "").find("force=1"), std::string::npos)
        << refused.body.dump();
    EXPECT_EQ(status()["routes"][0]["active"], "blue");
    EXPECT_EQ(httpGet(port(), "/")->header("X-Backend"), "blue");
  }

  // Panic: the unhealthy backend still answers rather than a certain 503.
  AdminResult forced = admin("POST", "/admin/switch?to=green&force=1");
  ASSERT_EQ(forced.status, 200) << forced.body.dump();
  EXPECT_EQ(forced.body["active"], "green");
  for (int i = 0; i < 5; ++i) {
    std::optional<Response> response = httpGet(port(), "/");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("X-Backend"), "green");
  }
  nlohmann::json pools = status()["pools"];
  EXPECT_EQ(pools[1]["name"], "green");
  EXPECT_EQ(pools[1]["panic"], true);
  EXPECT_EQ(pools[1]["backends"][0]["eligible"], true);

  // Fail: 503 from the proxy itself.
  ASSERT_EQ(admin("POST", "/admin/switch?to=red&force=true").status, 200);
  for (int i = 0; i < 5; ++i) {
    std::optional<Response> response = httpGet(port(), "/");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 503);
    EXPECT_FALSE(response->header("X-Backend").has_value());
  }
  pools = status()["pools"];
  EXPECT_EQ(pools[2]["panic"], false);
  EXPECT_EQ(pools[2]["eligible_backends"], 0);

  // Once red is healthy again (rise passes), it serves and switching there needs no force.
  ASSERT_NO_FATAL_FAILURE(backendControl(backendPort(2), "/control/health?status=200"));
  ASSERT_TRUE(waitForBackend("red", 2, isEligible, std::chrono::seconds(3)));
  EXPECT_EQ(httpGet(port(), "/")->header("X-Backend"), "red");
  ASSERT_EQ(admin("POST", "/admin/switch?to=blue").status, 200);
  AdminResult back = admin("POST", "/admin/switch?to=red");
  EXPECT_EQ(back.status, 200) << back.body.dump();

  // A healthy pool whose only backend is drained has nothing ready for traffic either.
  ASSERT_EQ(admin("POST", "/admin/switch?to=blue").status, 200);
  ASSERT_EQ(admin("POST", absl::StrCat("/admin/pools/red/backends/", localAddress(backendPort(2)),
                                       "/drain"))
                .status,
            200);
  EXPECT_EQ(admin("POST", "/admin/switch?to=red").status, 409);
}

TEST_F(HealthTest, NewBackendWaitsForItsFirstPassingCheckWhenTrafficBeforeFirstCheckIsOff) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b2"));
  // Each check takes 500 ms (the backend delays it): a new backend stays `unknown` that long.
  auto config = [&](const std::vector<uint16_t>& backends, bool before_first_check) {
    return simpleConfig({.backends = backends,
                         .workers = 2,
                         .pool = absl::StrCat("[pools.health_check]\npath = \"/delay/500\"\n"
                                              "interval = \"100ms\"\ntimeout = \"2s\"\n"
                                              "traffic_before_first_check = ",
                                              before_first_check ? "true" : "false", "\n")});
  };
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(config({backendPort(0)}, false)));
  ASSERT_NO_FATAL_FAILURE(waitHealthy("app", {0}));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMore(50, std::chrono::seconds(5))) << load.failureSummary();

  absl::StatusOr<nlohmann::json> reloaded =
      proxy_.reload(config({backendPort(0), backendPort(1)}, false));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ((*reloaded)["event"], "config_reloaded");
  int unknown_polls = 0;
  for (;;) {
    const uint64_t served_before = load.servedBy("b1");
    const nlohmann::json b1 = backend("app", 1);
    ASSERT_FALSE(b1.is_null());
    if (b1["health"] != "unknown") break;
    ++unknown_polls;
    EXPECT_EQ(served_before, 0u) << "b1 got traffic before its first check";
    EXPECT_EQ(b1["eligible"], false);
    ASSERT_LT(unknown_polls, 1000);
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_GT(unknown_polls, 5);  // the window was there, and traffic was flowing through it
  EXPECT_EQ(backend("app", 1)["health"], "healthy");
  ASSERT_TRUE(load.waitForMoreFrom("b1", 10, std::chrono::seconds(3)));

  // The same with the default (true): the new backend takes traffic while still unknown.
  reloaded = proxy_.reload(config({backendPort(0), backendPort(1), backendPort(2)}, true));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  bool served_while_unknown = false;
  for (int i = 0; i < 1000 && !served_while_unknown; ++i) {
    const uint64_t served = load.servedBy("b2");
    if (backend("app", 2)["health"] != "unknown") break;
    served_while_unknown = served > 0;
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(served_while_unknown);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

TEST_F(HealthTest, PassiveEjectionTakesOutABackendAnswering500AndReturnsItAfterTheBaseTime) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0", {"--fail-rate", "1", "--fail-status", "500"}));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1)},
                    .workers = 1,
                    .pool = "[pools.outlier_detection]\nconsecutive_failures = 3\n"
                            "base_ejection_time = \"1s\"\nmax_ejection_time = \"10s\"\n"
                            "max_ejection_percent = 50\n"})));
  const size_t log_start = proxy_.process->lines().size();
  LoadGenerator load({.port = port(), .clients = 2});
  load.start();
  const std::optional<nlohmann::json> ejected =
      waitForLogEvent(*proxy_.process, "backend_ejected", std::chrono::seconds(5), log_start);
  const Clock::time_point ejected_at = Clock::now();
  ASSERT_TRUE(ejected.has_value()) << proxy_.process->output();
  EXPECT_EQ((*ejected)["backend"], localAddress(backendPort(0)));
  EXPECT_EQ((*ejected)["pool"], "app");
  EXPECT_EQ((*ejected)["for_ms"], 1000);
  const nlohmann::json b0 = backend("app", 0);
  EXPECT_EQ(b0["ejected"], true);
  EXPECT_EQ(b0["eligible"], false);
  EXPECT_EQ(b0["health"], "unchecked");  // passive only: no active check configured

  // The 500s are the three that tipped it, plus those sent while the report went to the control
  // thread and the new snapshot came back: from none to a few dozen at this request rate,
  // depending on how busy the machine is. What matters is that they stop.
  std::this_thread::sleep_for(milliseconds(20));
  const uint64_t failed_before = load.failed();
  EXPECT_GE(failed_before, 3u);
  ASSERT_TRUE(load.waitForMoreFrom("b1", 200, std::chrono::seconds(5)));
  EXPECT_EQ(load.failed(), failed_before) << load.failureSummary();

  AdminResult metrics = admin("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  bool counted = false;
  std::istringstream lines(metrics.response->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("switchyard_passive_ejections_total{", 0) == 0 &&
        line.find(localAddress(backendPort(0))) != std::string::npos && line.size() > 2 &&
        line.substr(line.size() - 2) == " 1") {
      counted = true;
    }
  }
  EXPECT_TRUE(counted) << metrics.response->body;

  // It recovers while ejected; after base_ejection_time it is back and serves.
  ASSERT_NO_FATAL_FAILURE(backendControl(backendPort(0), "/control/fail?rate=0"));
  const std::optional<nlohmann::json> returned =
      waitForLogEvent(*proxy_.process, "backend_returned", std::chrono::seconds(5), log_start);
  const Clock::time_point returned_at = Clock::now();
  ASSERT_TRUE(returned.has_value()) << proxy_.process->output();
  const long ejected_ms =
      std::chrono::duration_cast<milliseconds>(returned_at - ejected_at).count();
  EXPECT_GE(ejected_ms, 900);
  EXPECT_LE(ejected_ms, 1000 + kSlack.count() + 200);
  ASSERT_TRUE(load.waitForMoreFrom("b0", 20, std::chrono::seconds(3)));
  EXPECT_EQ(backend("app", 0)["ejected"], false);
  load.stop();
  EXPECT_EQ(load.failed(), failed_before) << load.failureSummary();
  std::printf("ejected after %lu failed requests, back after %ld ms (base_ejection_time 1000 ms)\n",
              static_cast<unsigned long>(failed_before), ejected_ms);
}

TEST_F(HealthTest, SwitchClosesTheOldPoolsIdleConnectionsAfterSwitchDrainDelay) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  constexpr int kDelayMs = 500;
  const std::string toml = absl::StrCat(
      "[server]\nworkers = 2\nswitch_drain_delay = \"", kDelayMs,
      "ms\"\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
      "[[pools]]\nname = \"blue\"\nbackends = [\"",
      localAddress(backendPort(0)), "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"",
      localAddress(backendPort(1)), "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n");
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  LoadGenerator load({.port = port(), .clients = 4});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("blue", 100, std::chrono::seconds(5)));
  EXPECT_GT(backend("blue", 0)["open_connections"].get<int>(), 0);

  ASSERT_EQ(admin("POST", "/admin/switch?to=green").status, 200);
  const Clock::time_point switched = Clock::now();
  ASSERT_TRUE(load.waitForMoreFrom("green", 50, std::chrono::seconds(5)));
  // Before the delay, blue keeps its (now idle) connections for a quick rollback.
  if (elapsedMs(switched) < kDelayMs - 150) {
    EXPECT_GT(backend("blue", 0)["open_connections"].get<int>(), 0);
  }
  const std::optional<Clock::time_point> closed = whenBackend(
      "blue", 0, [](const nlohmann::json& b) { return b["open_connections"] == 0; },
      std::chrono::seconds(5));
  ASSERT_TRUE(closed.has_value()) << backend("blue", 0).dump();
  const long closed_ms = std::chrono::duration_cast<milliseconds>(*closed - switched).count();
  EXPECT_GE(closed_ms, kDelayMs - 50);
  EXPECT_LE(closed_ms, kDelayMs + kSlack.count() + 200);
  EXPECT_EQ(backend("blue", 0)["idle_connections"], 0);
  // Green's connections are in use and stay.
  EXPECT_GT(backend("green", 1)["open_connections"].get<int>(), 0);
  ASSERT_TRUE(load.waitForMoreFrom("green", 100, std::chrono::seconds(5)));
  EXPECT_GT(backend("green", 1)["open_connections"].get<int>(), 0);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  std::printf("blue's idle connections closed %ld ms after the switch (switch_drain_delay %d ms)\n",
              closed_ms, kDelayMs);
}

}  // namespace
}  // namespace sy::testing
