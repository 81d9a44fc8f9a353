// Traffic switching through the admin API against real processes: blue/green flips under load,
// canary weights, sticky users, A/B rules, refused calls, reloads and the state file.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

// Two pools, blue and green, one demo backend each, and route "web" to blue; `route_extra` and
// `tail` are TOML appended to the route table and to the file.
std::string blueGreenConfig(uint16_t blue, uint16_t green, const std::string& route_extra = "",
                            const std::string& tail = "", int workers = 2) {
  return absl::StrCat("[server]\nworkers = ", workers,
                      "\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
                      "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
                      blue, "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", green,
                      "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n", route_extra, "\n",
                      tail);
}

class SwitchingTest : public AdminProxyTest {
 protected:
  // Starts backends "blue" and "green" and the proxy with blueGreenConfig().
  void startBlueGreen(const std::string& route_extra = "", const std::string& tail = "",
                      int workers = 2) {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(
        blueGreenConfig(backendPort(0), backendPort(1), route_extra, tail, workers)));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }

  // The route part of /admin/status: what must not change after a refused call.
  nlohmann::json routeState(const Headers& headers = {}) {
    AdminResult status = admin("GET", "/admin/status", headers);
    EXPECT_EQ(status.status, 200);
    return status.body["routes"];
  }

  // Which pool answered (the demo backends answer their name).
  static std::string servedBy(const std::optional<Response>& response) {
    if (!response.has_value() || response->status != 200) return "(failed)";
    return response->body.substr(0, response->body.find('\n'));
  }
};

TEST_F(SwitchingTest, HundredFlipsUnderLoadFailNothingAndApplyToTheNextRequest) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());

  // Keep-alive clients hammering the proxy for the whole test.
  constexpr int kLoadClients = 8;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> failed{0};
  std::vector<std::string> failures(kLoadClients);
  std::vector<std::thread> load;
  for (int i = 0; i < kLoadClients; ++i) {
    load.emplace_back([&, i] {
      HttpClient client(milliseconds(5000));
      if (!client.connect(port())) {
        failed.fetch_add(1);
        failures[i] = client.lastError();
        return;
      }
      while (!stop.load()) {
        std::optional<Response> response = client.request("GET", "/");
        const std::string pool = servedBy(response);
        if (pool == "blue" || pool == "green") {
          served.fetch_add(1);
        } else {
          failed.fetch_add(1);
          failures[i] =
              response.has_value() ? absl::StrCat("status ", response->status) : client.lastError();
          if (!client.connect(port())) return;
        }
      }
    });
  }
  ASSERT_TRUE(waitUntil([&] { return served.load() > 200; }, std::chrono::seconds(10)));

  // A keep-alive connection opened before the flips: a flip applies to it too.
  HttpClient probe;
  ASSERT_NO_FATAL_FAILURE(connect(&probe));
  ASSERT_EQ(servedBy(probe.request("GET", "/")), "blue");

  std::vector<long> flip_ms;
  for (int flip = 0; flip < 100; ++flip) {
    const std::string target = flip % 2 == 0 ? "green" : "blue";
    const Clock::time_point started = Clock::now();
    AdminResult result = admin("POST", absl::StrCat("/admin/switch?to=", target));
    flip_ms.push_back(elapsedMs(started));
    ASSERT_EQ(result.status, 200) << result.body.dump();
    ASSERT_EQ(result.body["active"], target);
    ASSERT_EQ(result.body["route"], "web");
    // The very next request, on an old keep-alive connection and on a new one, is on the new
    // pool: the answer only comes once every worker adopted the change.
    ASSERT_EQ(servedBy(probe.request("GET", "/")), target) << "flip " << flip;
    ASSERT_EQ(servedBy(httpGet(port(), "/")), target) << "flip " << flip;
  }
  stop.store(true);
  for (std::thread& t : load) t.join();

  std::string why;
  for (const std::string& f : failures) {
    if (!f.empty()) why += f + "; ";
  }
  EXPECT_EQ(failed.load(), 0u) << why;
  EXPECT_GT(served.load(), 1000u);
  long worst = 0;
  for (long ms : flip_ms) worst = std::max(worst, ms);
  std::printf(
      "100 flips under load: %lu requests served, 0 expected failures (%lu seen), "
      "slowest admin answer %ld ms\n",
      static_cast<unsigned long>(served.load()), static_cast<unsigned long>(failed.load()), worst);
}

TEST_F(SwitchingTest, RollbackAndPromote) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  EXPECT_EQ(admin("POST", "/admin/rollback").status, 409);  // nothing to roll back to yet

  AdminResult switched = admin("POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200);
  EXPECT_EQ(switched.body["previous"], "blue");
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "green");

  AdminResult rolled = admin("POST", "/admin/rollback");
  ASSERT_EQ(rolled.status, 200) << rolled.body.dump();
  EXPECT_EQ(rolled.body["active"], "blue");
  EXPECT_EQ(rolled.body["previous"], "green");
  EXPECT_GT(rolled.body["generation"].get<int>(), switched.body["generation"].get<int>());
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "blue");

  EXPECT_EQ(admin("POST", "/admin/promote").status, 409);  // no canary
  ASSERT_EQ(admin("POST", "/admin/canary?pool=green&weight=20").status, 200);
  AdminResult promoted = admin("POST", "/admin/promote");
  ASSERT_EQ(promoted.status, 200) << promoted.body.dump();
  EXPECT_EQ(promoted.body["active"], "green");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(servedBy(httpGet(port(), "/")), "green");
  const nlohmann::json routes = routeState();
  EXPECT_EQ(routes[0]["active"], "green");
  EXPECT_EQ(routes[0]["previous"], "blue");
  EXPECT_TRUE(routes[0]["canary"].is_null());
}

TEST_F(SwitchingTest, CanaryAtTenPercentLandsWithinOneAndAHalfPoints) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  AdminResult canary = admin("POST", "/admin/canary?pool=green&weight=10");
  ASSERT_EQ(canary.status, 200) << canary.body.dump();
  EXPECT_EQ(canary.body["canary_weight"], 10.0);

  std::map<std::string, int> counts;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<HttpClient>());
    ASSERT_NO_FATAL_FAILURE(connect(clients.back().get()));
  }
  for (int i = 0; i < 10000; ++i) {
    ++counts[servedBy(clients[static_cast<size_t>(i % 4)]->request("GET", "/"))];
  }
  EXPECT_EQ(counts["blue"] + counts["green"], 10000) << "failures: " << counts["(failed)"];
  EXPECT_GE(counts["green"], 850);
  EXPECT_LE(counts["green"], 1150);

  // weight=0 ends the canary.
  ASSERT_EQ(admin("POST", "/admin/canary?weight=0").status, 200);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(servedBy(clients[0]->request("GET", "/")), "blue");
}

TEST_F(SwitchingTest, StickyUsersNeverGoBackAsTheWeightGrows) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen("sticky = \"header:x-user\"\n"));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  constexpr int kUsers = 1000;
  std::set<int> in_canary;
  for (double weight : {5.0, 25.0, 50.0, 100.0}) {
    ASSERT_EQ(admin("POST", absl::StrCat("/admin/canary?pool=green&weight=", weight)).status, 200);
    std::set<int> now;
    for (int user = 0; user < kUsers; ++user) {
      const Headers headers = {{"X-User", absl::StrCat("user-", user)}};
      const std::string first = servedBy(client.request("GET", "/", headers));
      // The same user, asked again, gets the same answer.
      ASSERT_EQ(servedBy(client.request("GET", "/", headers)), first) << "user " << user;
      if (first == "green") now.insert(user);
    }
    for (int user : in_canary) {
      EXPECT_TRUE(now.count(user)) << "user " << user << " left the canary at weight " << weight;
    }
    const double share = 100.0 * static_cast<double>(now.size()) / kUsers;
    EXPECT_NEAR(share, weight, 4.0) << "weight " << weight;
    in_canary = now;
  }
  EXPECT_EQ(in_canary.size(), static_cast<size_t>(kUsers));
}

TEST_F(SwitchingTest, RulesWinOverWeights) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen(
      "pool_header = \"X-Switchyard-Pool\"\n"
      "[[routes.rules]]\nheader = \"x-version\"\nequals = \"canary\"\npool = \"green\"\n"
      "[[routes.rules]]\ncookie = \"ab\"\nequals = \"b\"\npool = \"green\"\n"
      "[[routes.rules]]\nquery = \"variant\"\nequals = \"b\"\npool = \"green\"\n"
      "[[routes.rules]]\nheader = \"user-segment\"\nprefix = \"vip\"\npool = \"green\"\n"
      "[[routes.rules]]\nheader = \"x-force-blue\"\npresent = true\npool = \"blue\"\n"));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Without a canary, each rule sends its requests to green.
  EXPECT_EQ(servedBy(client.request("GET", "/", {{"X-Version", "canary"}})), "green");
  EXPECT_EQ(servedBy(client.request("GET", "/", {{"Cookie", "a=1; ab=b"}})), "green");
  EXPECT_EQ(servedBy(client.request("GET", "/?x=1&variant=b")), "green");
  EXPECT_EQ(servedBy(client.request("GET", "/", {{"User-Segment", "vip-gold"}})), "green");
  EXPECT_EQ(servedBy(client.request("GET", "/", {{"X-Version", "stable"}})), "blue");
  EXPECT_EQ(servedBy(client.request("GET", "/?variant=a")), "blue");

  // A 100% canary to green, and a rule to blue still wins.
  ASSERT_EQ(admin("POST", "/admin/canary?pool=green&weight=100").status, 200);
  for (int i = 0; i < 50; ++i) {
    std::optional<Response> response =
        client.request("GET", "/", {{"X-Force-Blue", ""}, {"X-Version", "canary"}});
    EXPECT_EQ(servedBy(response), "green") << "the first matching rule (x-version) wins";
    response = client.request("GET", "/", {{"X-Force-Blue", "1"}});
    EXPECT_EQ(servedBy(response), "blue");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->header("X-Switchyard-Pool").value_or(""), "blue");
    EXPECT_EQ(servedBy(client.request("GET", "/")), "green");
  }
}

TEST_F(SwitchingTest, EveryInvalidCallIsRefusedWithJsonAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  ASSERT_EQ(admin("POST", "/admin/canary?pool=green&weight=5").status, 200);
  const nlohmann::json before = routeState();

  struct Call {
    const char* method;
    const char* target;
    int status;
  } calls[] = {
      {"POST", "/admin/switch?to=purple", 404},
      {"POST", "/admin/switch?to=green&route=nope", 404},
      {"POST", "/admin/switch", 400},
      {"POST", "/admin/switch?to=", 400},
      {"POST", "/admin/switch?too=green", 400},
      {"POST", "/admin/switch?to=green&force=maybe", 400},
      {"GET", "/admin/switch?to=green", 405},
      {"PUT", "/admin/rollback", 405},
      {"POST", "/admin/rollback", 409},
      {"POST", "/admin/canary?pool=green&weight=101", 400},
      {"POST", "/admin/canary?pool=green&weight=-1", 400},
      {"POST", "/admin/canary?pool=green&weight=abc", 400},
      {"POST", "/admin/canary?pool=green&weight=nan", 400},
      {"POST", "/admin/canary?pool=green", 400},
      {"POST", "/admin/canary?weight=10", 400},
      {"POST", "/admin/canary?pool=blue&weight=10", 409},
      {"POST", "/admin/canary?pool=purple&weight=10", 404},
      {"GET", "/admin/promote", 405},
      {"POST", "/admin/status", 405},
      {"POST", "/admin/nothing", 404},
      {"POST", "/admin/switch?to=%zz", 400},
  };
  for (const Call& call : calls) {
    AdminResult result = admin(call.method, call.target);
    EXPECT_EQ(result.status, call.status)
        << call.method << " " << call.target << " -> " << result.body.dump();
    EXPECT_TRUE(result.body.is_object() && result.body["error"].is_string())
        << call.target << " answered " << (result.response ? result.response->body : "");
    ASSERT_TRUE(result.response.has_value());
    EXPECT_EQ(result.response->header("Content-Type").value_or(""), "application/json");
  }
  EXPECT_EQ(routeState(), before);
}

TEST_F(SwitchingTest, BearerTokenGuardsTheAdminApi) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      blueGreenConfig(backendPort(0), backendPort(1), "",
                      "[admin]\nlisten = \"127.0.0.1:0\"\ntoken_env = \"SY_TEST_ADMIN_TOKEN\"\n"),
      {{"SY_TEST_ADMIN_TOKEN", "s3cret"}}));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  const nlohmann::json before = routeState({{"Authorization", "Bearer s3cret"}});

  AdminResult missing = admin("POST", "/admin/switch?to=green");
  EXPECT_EQ(missing.status, 401);
  ASSERT_TRUE(missing.response.has_value());
  EXPECT_EQ(missing.response->header("WWW-Authenticate").value_or(""), "Bearer");
  EXPECT_EQ(admin("POST", "/admin/switch?to=green", {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_EQ(admin("GET", "/admin/status", {{"Authorization", "s3cret"}}).status, 401);
  EXPECT_EQ(routeState({{"Authorization", "Bearer s3cret"}}), before);
  EXPECT_EQ(admin("GET", "/healthz").status, 200);  // probes carry no token

  AdminResult allowed =
      admin("POST", "/admin/switch?to=green", {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(allowed.status, 200) << allowed.body.dump();
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "green");
}

TEST_F(SwitchingTest, ReloadKeepsRuntimeStateOfUnchangedRoutesAndRefusesBadFiles) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen());
  ASSERT_EQ(admin("POST", "/admin/switch?to=green").status, 200);

  // The same file again: the route is unchanged, the runtime switch stays.
  AdminResult same = admin("POST", "/admin/reload");
  EXPECT_EQ(same.status, 200) << same.body.dump();
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "green");

  // An invalid file: 400 with the errors, and the proxy goes on as before.
  const std::string good = blueGreenConfig(backendPort(0), backendPort(1));
  absl::StatusOr<nlohmann::json> bad = proxy_.reload(good + "\n[[routes]]\nname = \"x\"\n");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ((*bad)["event"], "config_reload_failed");
  AdminResult refused = admin("POST", "/admin/reload");
  EXPECT_EQ(refused.status, 400);
  EXPECT_TRUE(refused.body["errors"].is_array()) << refused.body.dump();
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "green");

  // The file changes the route's pool: the file's new intent wins over the runtime switch.
  std::string edited = good;
  edited.replace(edited.find("pool = \"blue\""), 13, "pool = \"green\"");
  absl::StatusOr<nlohmann::json> applied = proxy_.reload(edited);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ((*applied)["event"], "config_reloaded");
  ASSERT_EQ(admin("POST", "/admin/switch?to=blue").status, 200);
  // Still the same file content (pool = green): reloading it keeps the runtime blue.
  ASSERT_TRUE(proxy_.reload(edited).ok());
  EXPECT_EQ(servedBy(httpGet(port(), "/")), "blue");
}

TEST_F(SwitchingTest, StateFileBringsARestartBackOnTheSameColour) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  TempDir state_dir;
  const std::string state_file = state_dir.file("state.json");
  const std::string config =
      absl::StrCat("[server]\nworkers = 1\nstate_file = \"", state_file, "\"\n",
                   blueGreenConfig(backendPort(0), backendPort(1))
                       .substr(std::string("[server]\nworkers = 2\n").size()));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  ASSERT_EQ(admin("POST", "/admin/switch?to=green").status, 200);
  ASSERT_EQ(admin("POST", "/admin/canary?pool=blue&weight=0.5").status, 200);

  proxy_.process->signal(SIGTERM);
  ASSERT_EQ(proxy_.process->waitExit(std::chrono::seconds(10)), 0);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  const nlohmann::json routes = routeState();
  EXPECT_EQ(routes[0]["active"], "green");
  EXPECT_EQ(routes[0]["previous"], "blue");
  EXPECT_EQ(routes[0]["canary"]["weight"], 0.5);
  std::optional<nlohmann::json> restored =
      waitForLogEvent(*proxy_.process, "state_restored", std::chrono::seconds(1));
  EXPECT_TRUE(restored.has_value());
}

TEST_F(SwitchingTest, RouteNameIsRequiredWhenThereAreSeveral) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      blueGreenConfig(backendPort(0), backendPort(1), "hosts = [\"web.test\"]\n",
                      "[[routes]]\nname = \"api\"\nhosts = [\"api.test\"]\npool = \"blue\"\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  AdminResult ambiguous = admin("POST", "/admin/switch?to=green");
  EXPECT_EQ(ambiguous.status, 400);
  EXPECT_NE(ambiguous.body["error"].get<std::string>().find("web, api"), std::string::npos)
      << ambiguous.body.dump();
  ASSERT_EQ(admin("POST", "/admin/switch?to=green&route=api").status, 200);
  EXPECT_EQ(servedBy(httpGet(port(), "/", {{"Host", "api.test"}})), "green");
  EXPECT_EQ(servedBy(httpGet(port(), "/", {{"Host", "web.test"}})), "blue");
}

TEST_F(SwitchingTest, ReadyzTurnsUnavailableWhileShuttingDown) {
  ASSERT_NO_FATAL_FAILURE(startBlueGreen("", "", 1));
  EXPECT_EQ(admin("GET", "/readyz").status, 200);
  // A slow request keeps the drain going while we look.
  HttpClient slow;
  ASSERT_NO_FATAL_FAILURE(connect(&slow));
  ASSERT_TRUE(slow.sendRaw("GET /delay/1500 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests >= 1; }, std::chrono::seconds(5)));
  proxy_.process->signal(SIGTERM);
  EXPECT_TRUE(
      waitUntil([&] { return admin("GET", "/readyz").status == 503; }, std::chrono::seconds(2)));
  EXPECT_EQ(admin("POST", "/admin/switch?to=green").status, 503);
  std::optional<Response> finished = slow.readResponse();
  ASSERT_TRUE(finished.has_value()) << slow.lastError();
  EXPECT_EQ(finished->status, 200);
}

}  // namespace
}  // namespace sy::testing
