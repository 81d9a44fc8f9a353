// Draining and maintenance through the admin API against real demo backends: drain with wait
// under load with slow requests in flight, disable/enable, pool-wide drains, refused calls, and
// admin states kept across a restart by the state file.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
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
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

// TCP checks every 100 ms: they open connections but send no request, so the demo backends'
// request counters only count traffic.
const std::string kTcpCheck =
    "[pools.health_check]\ntype = \"tcp\"\ninterval = \"100ms\"\ntimeout = \"200ms\"\n";
const std::string kHttpCheck = "[pools.health_check]\ninterval = \"100ms\"\ntimeout = \"200ms\"\n";

class DrainTest : public AdminProxyTest {
 protected:
  std::string backendPath(size_t index, std::string_view action) {
    return absl::StrCat("/admin/pools/app/backends/", localAddress(backendPort(index)), "/",
                        std::string(action));
  }
  void waitReady(const std::vector<size_t>& indices) {
    for (size_t i : indices) {
      ASSERT_TRUE(waitForBackend(
          "app", i, [](const nlohmann::json& b) { return b["eligible"] == true; },
          std::chrono::seconds(3)))
          << backend("app", i).dump();
    }
  }
};

// A request on its own connection, on a thread: for slow requests in flight during a drain.
struct SlowRequest {
  std::thread thread;
  int status = 0;
  std::string backend;
  std::string error;
  Clock::time_point done{};

  void start(uint16_t port, std::string path) {
    thread = std::thread([this, port, path] {
      HttpClient client(std::chrono::seconds(15));
      if (!client.connect(port)) {
        error = client.lastError();
        return;
      }
      std::optional<Response> response = client.request("GET", path);
      done = Clock::now();
      if (!response.has_value()) {
        error = client.lastError();
        return;
      }
      status = response->status;
      backend = response->header("X-Backend").value_or("");
    });
  }
};

TEST_F(DrainTest, DrainWithWaitLetsSlowRequestsFinishAndSendsNothingNewToTheBackend) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  // One worker: its round robin alternates, so half of the slow requests land on b0.
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0), backendPort(1)}, .workers = 1, .pool = kTcpCheck})));
  ASSERT_NO_FATAL_FAILURE(waitReady({0, 1}));

  constexpr int kSlow = 4;
  constexpr int kSlowMs = 2000;
  std::vector<SlowRequest> slow(kSlow);
  const Clock::time_point slow_started = Clock::now();
  for (SlowRequest& request : slow) request.start(port(), absl::StrCat("/delay/", kSlowMs));
  ASSERT_TRUE(waitUntil(
      [&] {
        const nlohmann::json s = status();
        return backendStatus(s, "app", localAddress(backendPort(0)))["in_flight"] == kSlow / 2 &&
               backendStatus(s, "app", localAddress(backendPort(1)))["in_flight"] == kSlow / 2;
      },
      std::chrono::seconds(2)))
      << status().dump();

  constexpr int kLoadClients = 4;
  LoadGenerator load({.port = port(), .clients = kLoadClients});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b0", 50, std::chrono::seconds(5))) << load.failureSummary();

  // Watches b0 in /admin/status while the drain waits.
  std::atomic<bool> stop_watching{false};
  std::mutex samples_mutex;
  std::vector<nlohmann::json> samples;
  std::thread watcher([&] {
    while (!stop_watching.load()) {
      AdminResult result = adminCall(admin_port_, "GET", "/admin/status");
      nlohmann::json b0 = backendStatus(result.body, "app", localAddress(backendPort(0)));
      if (!b0.is_null()) {
        std::lock_guard<std::mutex> lock(samples_mutex);
        samples.push_back(b0);
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });

  const uint64_t b0_before = stats(0).requests;
  const Clock::time_point drain_sent = Clock::now();
  AdminResult drained = admin("POST", backendPath(0, "drain") + "?wait=10");
  const Clock::time_point drain_returned = Clock::now();
  stop_watching.store(true);
  watcher.join();

  ASSERT_EQ(drained.status, 200) << drained.body.dump();
  EXPECT_EQ(drained.body["drained"], true);
  EXPECT_EQ(drained.body["pool"], "app");
  ASSERT_EQ(drained.body["backends"].size(), 1u);
  EXPECT_EQ(drained.body["backends"][0]["address"], localAddress(backendPort(0)));
  EXPECT_EQ(drained.body["backends"][0]["admin_state"], "drained");
  EXPECT_EQ(drained.body["backends"][0]["in_flight"], 0);
  EXPECT_EQ(drained.body["backends"][0]["open_connections"], 0);

  // Not before the slow requests on b0 were done.
  for (SlowRequest& request : slow) request.thread.join();
  int on_b0 = 0;
  Clock::time_point last_b0_done{};
  for (const SlowRequest& request : slow) {
    EXPECT_EQ(request.status, 200) << request.error;
    if (request.backend == "b0") {
      ++on_b0;
      last_b0_done = std::max(last_b0_done, request.done);
    }
  }
  EXPECT_EQ(on_b0, kSlow / 2);
  const long answered_ms =
      std::chrono::duration_cast<milliseconds>(drain_returned - slow_started).count();
  EXPECT_GE(answered_ms, kSlowMs - 50) << "the drain answered before the slow requests ended";
  EXPECT_LE(answered_ms, kSlowMs + 1500);
  EXPECT_GE(drain_returned + milliseconds(100), last_b0_done);

  // What /admin/status showed meanwhile: draining with the slow requests in flight, falling to
  // nothing, then drained.
  {
    std::lock_guard<std::mutex> lock(samples_mutex);
    ASSERT_FALSE(samples.empty());
    bool saw_draining_busy = false;
    // At first b0 may carry its slow requests and one request of each load client: the status
    // shows "draining" as soon as the control thread set it, before the worker adopted it.
    int64_t previous_in_flight = kSlow / 2 + kLoadClients;
    for (const nlohmann::json& sample : samples) {
      if (sample["admin_state"] == "ready") continue;  // before the drain took effect
      const int64_t in_flight = sample["in_flight"].get<int64_t>();
      if (sample["admin_state"] == "draining" && in_flight > 0) saw_draining_busy = true;
      EXPECT_LE(in_flight, previous_in_flight) << sample.dump();  // nothing new arrives
      previous_in_flight = in_flight;
      if (sample["admin_state"] == "drained") {
        EXPECT_EQ(in_flight, 0);
        EXPECT_EQ(sample["open_connections"], 0);
      }
    }
    EXPECT_TRUE(saw_draining_busy);
  }
  const nlohmann::json after = backend("app", 0);
  EXPECT_EQ(after["admin_state"], "drained");
  EXPECT_EQ(after["eligible"], false);
  EXPECT_EQ(after["in_flight"], 0);
  EXPECT_EQ(after["open_connections"], 0);

  // Nothing new reached b0 once the drain answered: neither through the load clients' eyes nor
  // by the backend's own count.
  const uint64_t b0_at_drain = stats(0).requests;
  EXPECT_GE(b0_at_drain, b0_before);
  ASSERT_TRUE(load.waitForMore(300, std::chrono::seconds(5))) << load.failureSummary();
  EXPECT_EQ(stats(0).requests, b0_at_drain);
  const std::optional<Clock::time_point> last_to_b0 = load.lastSentTo("b0");
  ASSERT_TRUE(last_to_b0.has_value());
  EXPECT_LT(*last_to_b0, drain_returned);
  const long late_ms = std::chrono::duration_cast<milliseconds>(*last_to_b0 - drain_sent).count();

  // Enable brings it back.
  AdminResult enabled = admin("POST", backendPath(0, "enable"));
  ASSERT_EQ(enabled.status, 200) << enabled.body.dump();
  EXPECT_EQ(enabled.body["backends"][0]["admin_state"], "ready");
  ASSERT_TRUE(load.waitForMoreFrom("b0", 50, std::chrono::seconds(3)));
  EXPECT_GT(stats(0).requests, b0_at_drain);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  std::printf(
      "drain answered %ld ms after the %d ms requests started; last request to b0 sent "
      "%ld ms after the drain call; %lu requests, %lu failed\n",
      answered_ms, kSlowMs, late_ms, static_cast<unsigned long>(load.served()),
      static_cast<unsigned long>(load.failed()));
}

TEST_F(DrainTest, RefusedCallsAnswerJsonAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = {backendPort(0)}, .workers = 1})));
  struct Case {
    const char* method;
    std::string target;
    int status;
    std::string error_part;
  };
  const std::string b0 = localAddress(backendPort(0));
  const std::vector<Case> cases = {
      {"POST", "/admin/pools/nope/drain", 404, "unknown pool \"nope\""},
      {"POST", "/admin/pools/nope/backends/" + b0 + "/disable", 404, "unknown pool"},
      {"POST", "/admin/pools/app/backends/127.0.0.1:1/drain", 404, b0},  // lists what exists
      {"POST", "/admin/pools/app/explode", 404, "unknown action"},
      {"GET", "/admin/pools/app/drain", 405, "use POST"},
      {"PUT", "/admin/pools/app/backends/" + b0 + "/enable", 405, "use POST"},
      {"POST", "/admin/pools/app/drain?wait=abc", 400, "wait"},
      {"POST", "/admin/pools/app/drain?wait=-1", 400, "wait"},
      {"POST", "/admin/pools/app/drain?wait=3601", 400, "wait"},
      {"POST", "/admin/pools/app/drain?wait=1e3", 400, "wait"},
      {"POST", "/admin/pools/app/drain?wait=", 400, "wait"},
      {"POST", "/admin/pools/app/enable?wait=5", 400, "unknown parameter \"wait\""},
      {"POST", "/admin/pools/app/drain?timeout=5", 400, "unknown parameter"},
      {"POST", "/admin/pools/app/backends/%zz/drain", 400, "percent-encoding"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.method, " ", c.target));
    AdminResult result = admin(c.method, c.target);
    EXPECT_EQ(result.status, c.status) << result.body.dump();
    ASSERT_TRUE(result.response.has_value());
    EXPECT_EQ(result.response->header("Content-Type").value_or("").rfind("application/json", 0),
              0u);
    ASSERT_TRUE(result.body.is_object()) << result.response->body;
    EXPECT_NE(result.body.value("error", "").find(c.error_part), std::string::npos)
        << result.body.dump();
    if (c.status == 405) {
      EXPECT_EQ(result.response->header("Allow"), "POST");
    }
  }
  const nlohmann::json state = backend("app", 0);
  EXPECT_EQ(state["admin_state"], "ready");
  EXPECT_EQ(state["eligible"], true);
  EXPECT_EQ(httpGet(port(), "/")->status, 200);
  // The address may also be written percent-encoded.
  AdminResult encoded = admin(
      "POST", absl::StrCat("/admin/pools/app/backends/127.0.0.1%3A", backendPort(0), "/drain"));
  EXPECT_EQ(encoded.status, 200) << encoded.body.dump();
}

TEST_F(DrainTest, WaitRunningOutAnswers504WithDrainedFalseAndTheDrainGoesOn) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = {backendPort(0)}, .workers = 1})));
  SlowRequest slow;
  slow.start(port(), "/delay/1200");
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["in_flight"] == 1; },
      std::chrono::seconds(2)));
  const Clock::time_point sent = Clock::now();
  AdminResult result = admin("POST", "/admin/pools/app/drain?wait=0.3");
  const long waited_ms = elapsedMs(sent);
  EXPECT_EQ(result.status, 504) << result.body.dump();
  EXPECT_EQ(result.body["drained"], false);
  EXPECT_NE(result.body.value("error", "").find("not drained"), std::string::npos);
  ASSERT_EQ(result.body["backends"].size(), 1u);
  EXPECT_EQ(result.body["backends"][0]["admin_state"], "draining");
  EXPECT_EQ(result.body["backends"][0]["in_flight"], 1);
  EXPECT_GE(waited_ms, 280);
  EXPECT_LT(waited_ms, 1100);
  // The backend stays draining; the slow request completes; then it is drained.
  slow.thread.join();
  EXPECT_EQ(slow.status, 200) << slow.error;
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["admin_state"] == "drained"; },
      std::chrono::seconds(2)));
  // With nothing left in flight, wait answers at once.
  AdminResult again = admin("POST", "/admin/pools/app/drain?wait=5");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["drained"], true);
  // The only backend is drained: requests get 503 from the proxy.
  EXPECT_EQ(httpGet(port(), "/")->status, 503);
}

TEST_F(DrainTest, DrainedBackendsAreStillCheckedAndDisabledOnesAreNot) {
  for (const char* name : {"b0", "b1", "b2"}) ASSERT_NO_FATAL_FAILURE(startBackend(name));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1), backendPort(2)},
                    .workers = 2,
                    .pool = kHttpCheck})));
  ASSERT_NO_FATAL_FAILURE(waitReady({0, 1, 2}));
  constexpr int kLoadClients = 4;
  LoadGenerator load({.port = port(), .clients = kLoadClients});
  load.start();

  AdminResult drained = admin("POST", backendPath(0, "drain"));
  ASSERT_EQ(drained.status, 200) << drained.body.dump();
  AdminResult disabled = admin("POST", backendPath(1, "disable?wait=5"));
  ASSERT_EQ(disabled.status, 200) << disabled.body.dump();
  EXPECT_EQ(disabled.body["drained"], true);  // wait works for disable too
  // Waits for `count` more completed checks of b0. Its checks are 100 ms apart, so three of
  // them span more than the 200 ms check timeout: a check of b1 that was in flight when b1 was
  // disabled has ended by then, whatever the machine's load.
  const auto waitForChecksOfB0 = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const nlohmann::json before = backend("app", 0)["last_check"];
      if (!waitForBackend(
              "app", 0, [&](const nlohmann::json& b) { return b["last_check"] != before; },
              std::chrono::seconds(5))) {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(waitForChecksOfB0(3));
  const nlohmann::json b0_then = backend("app", 0);
  const nlohmann::json b1_then = backend("app", 1);
  EXPECT_EQ(b1_then["admin_state"], "disabled");
  EXPECT_EQ(b1_then["eligible"], false);
  EXPECT_EQ(b0_then["eligible"], false);
  // Five checks of b0 later: b0's checks went on, b1's did not.
  ASSERT_TRUE(waitForChecksOfB0(5));
  EXPECT_EQ(backend("app", 1)["last_check"], b1_then["last_check"]);
  EXPECT_NE(backend("app", 0)["last_check"], b0_then["last_check"]);
  // Only b2 served meanwhile.
  const uint64_t b0_served = load.servedBy("b0");
  const uint64_t b1_served = load.servedBy("b1");
  ASSERT_TRUE(load.waitForMoreFrom("b2", 100, std::chrono::seconds(3)));
  EXPECT_EQ(load.servedBy("b0"), b0_served);
  EXPECT_EQ(load.servedBy("b1"), b1_served);

  // Enable: both back in rotation, and b1 is checked again.
  ASSERT_EQ(admin("POST", backendPath(0, "enable")).status, 200);
  ASSERT_EQ(admin("POST", backendPath(1, "enable")).status, 200);
  ASSERT_TRUE(waitForBackend(
      "app", 1, [&](const nlohmann::json& b) { return b["last_check"] != b1_then["last_check"]; },
      std::chrono::seconds(2)));
  ASSERT_TRUE(load.waitForMoreFrom("b0", 20, std::chrono::seconds(3)));
  ASSERT_TRUE(load.waitForMoreFrom("b1", 20, std::chrono::seconds(3)));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
}

// A disabled backend is not checked, so its health from before the maintenance is stale.
// Re-enabled, it must not take traffic on that verdict: here its /health fails by the time it
// is enabled, and it gets no request, even with traffic_before_first_check = true (default).
TEST_F(DrainTest, ReenabledBackendDoesNotServeOnItsHealthFromBeforeTheMaintenance) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      simpleConfig({.backends = {backendPort(0), backendPort(1)},
                    .workers = 1,
                    .pool = "[pools.health_check]\ninterval = \"200ms\"\ntimeout = \"200ms\"\n"
                            "unhealthy_threshold = 3\n"})));
  ASSERT_NO_FATAL_FAILURE(waitReady({0, 1}));
  ASSERT_EQ(admin("POST", backendPath(0, "disable?wait=5")).status, 200);
  // During the maintenance the backend breaks (here: its health check fails).
  {
    HttpClient control;
    ASSERT_TRUE(control.connect(backendPort(0)));
    ASSERT_EQ(control.request("POST", "/control/health?status=503")->status, 200);
  }
  LoadGenerator load({.port = port(), .clients = 2});
  load.start();
  ASSERT_TRUE(load.waitForMoreFrom("b1", 20, std::chrono::seconds(3)));
  ASSERT_EQ(admin("POST", backendPath(0, "enable")).status, 200);
  // Until a check after the enable has run, b0 must stay out; then it is unhealthy.
  ASSERT_TRUE(load.waitForMore(300, std::chrono::seconds(3)));
  load.stop();
  EXPECT_EQ(load.servedBy("b0"), 0u) << "stale health: " << backend("app", 0).dump();
}

// A client that gives up on a slow request (closes its connection) does not keep the request
// in flight to the backend: nobody waits for that answer, so a drain must not wait for it
// (abort_on_client_close, on by default).
TEST_F(DrainTest, ClientThatGaveUpDoesNotKeepADrainWaiting) {
  // The backend still sleeps on the abandoned request at teardown: do not wait for it there.
  ASSERT_NO_FATAL_FAILURE(startBackend("b0", {"--shutdown-grace", "100ms"}));
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = {backendPort(0)}, .workers = 1})));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/delay/10000")));
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["in_flight"] == 1; },
      std::chrono::seconds(2)));
  client.close();
  AdminResult drained = admin("POST", "/admin/pools/app/drain?wait=2");
  EXPECT_EQ(drained.status, 200) << drained.body.dump();
  EXPECT_EQ(drained.body["drained"], true);
}

TEST_F(DrainTest, PoolDrainTakesEveryBackendOutEvenInPanicMode) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = {backendPort(0), backendPort(1)},
                                        .workers = 2,
                                        .pool = "when_all_down = \"panic\"\n" + kHttpCheck})));
  ASSERT_NO_FATAL_FAILURE(waitReady({0, 1}));
  SlowRequest slow;
  slow.start(port(), "/delay/400");
  ASSERT_TRUE(waitUntil(
      [&] {
        return status()["pools"][0]["backends"][0]["in_flight"].get<int>() +
                   status()["pools"][0]["backends"][1]["in_flight"].get<int>() ==
               1;
      },
      std::chrono::seconds(2)));
  const Clock::time_point sent = Clock::now();
  AdminResult drained = admin("POST", "/admin/pools/app/drain?wait=5");
  const long waited_ms = elapsedMs(sent);
  ASSERT_EQ(drained.status, 200) << drained.body.dump();
  EXPECT_EQ(drained.body["drained"], true);
  ASSERT_EQ(drained.body["backends"].size(), 2u);
  for (const auto& b : drained.body["backends"]) EXPECT_EQ(b["admin_state"], "drained");
  EXPECT_GE(waited_ms, 250);  // waited for the slow request
  slow.thread.join();
  EXPECT_EQ(slow.status, 200);
  // Operators took everything out: panic does not send traffic there.
  const nlohmann::json pool = status()["pools"][0];
  EXPECT_EQ(pool["eligible_backends"], 0);
  EXPECT_EQ(pool["panic"], false);
  EXPECT_EQ(httpGet(port(), "/")->status, 503);

  AdminResult enabled = admin("POST", "/admin/pools/app/enable");
  ASSERT_EQ(enabled.status, 200) << enabled.body.dump();
  for (const auto& b : enabled.body["backends"]) EXPECT_EQ(b["admin_state"], "ready");
  EXPECT_EQ(httpGet(port(), "/")->status, 200);
  EXPECT_EQ(status()["pools"][0]["eligible_backends"], 2);
}

TEST_F(DrainTest, AdminStatesSurviveARestartThroughTheStateFile) {
  for (const char* name : {"b0", "b1", "b2"}) ASSERT_NO_FATAL_FAILURE(startBackend(name));
  TempDir state_dir;
  const std::string state_file = state_dir.file("state.json");
  const std::string toml =
      simpleConfig({.backends = {backendPort(0), backendPort(1), backendPort(2)},
                    .workers = 1,
                    .server = absl::StrCat("state_file = \"", state_file, "\"\n"),
                    .pool = kHttpCheck});
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  ASSERT_EQ(admin("POST", backendPath(0, "drain")).status, 200);
  ASSERT_EQ(admin("POST", backendPath(1, "disable")).status, 200);

  auto readState = [&] {
    std::ifstream in(state_file);
    std::stringstream text;
    text << in.rdbuf();
    return parseJson(text.str()).value_or(nlohmann::json());
  };
  const nlohmann::json saved = readState();
  ASSERT_TRUE(saved.contains("backends")) << saved.dump();
  EXPECT_EQ(saved["backends"]["app"][localAddress(backendPort(0))], "draining");
  EXPECT_EQ(saved["backends"]["app"][localAddress(backendPort(1))], "disabled");
  EXPECT_FALSE(saved["backends"]["app"].contains(localAddress(backendPort(2))));

  proxy_.process->signal(SIGTERM);
  ASSERT_EQ(proxy_.process->waitExit(std::chrono::seconds(10)), std::optional<int>(0))
      << proxy_.process->output();
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(toml));
  const nlohmann::json b0 = backend("app", 0);
  const nlohmann::json b1 = backend("app", 1);
  EXPECT_EQ(b0["admin_state"], "drained");
  EXPECT_EQ(b0["eligible"], false);
  EXPECT_EQ(b1["admin_state"], "disabled");
  EXPECT_EQ(b1["eligible"], false);
  EXPECT_EQ(backend("app", 2)["admin_state"], "ready");
  ASSERT_TRUE(waitForBackend(
      "app", 2, [](const nlohmann::json& b) { return b["eligible"] == true; },
      std::chrono::seconds(3)));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(httpGet(port(), "/")->header("X-Backend"), "b2");

  // Enabling is saved too.
  ASSERT_EQ(admin("POST", backendPath(0, "enable")).status, 200);
  EXPECT_FALSE(readState()["backends"]["app"].contains(localAddress(backendPort(0))));
  EXPECT_EQ(readState()["backends"]["app"][localAddress(backendPort(1))], "disabled");
}

}  // namespace
}  // namespace sy::testing
