// The console's side of the admin API: the embedded page and its headers, GET /admin/stats and
// its markers, the Host allowlist (DNS rebinding) and the refusal of cross-origin changes; and
// the StatsSampler's arithmetic (windows, series, percentiles from bucket deltas).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admin/admin_api.h"
#include "admin/admin_origin.h"
#include "admin/stats_sampler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sy::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Records the changes it is asked for; answers each with 200.
class ConsoleFakeControl final : public ControlPlane {
 public:
  std::vector<std::string> routeNames() const override { return {"web"}; }
  void switchPool(const std::string& route, const std::string& pool, bool, const ChangeScope&,
                  Responder respond) override {
    calls.push_back("switch " + route + " " + pool);
    respond(jsonReply(200, {{"active", pool}}));
  }
  void rollback(const std::string& route, const ChangeScope&, Responder respond) override {
    calls.push_back("rollback " + route);
    respond(jsonReply(200, {}));
  }
  void setCanary(const std::string& route, const std::string& pool, double, const ChangeScope&,
                 Responder respond) override {
    calls.push_back("canary " + route + " " + pool);
    respond(jsonReply(200, {}));
  }
  void promote(const std::string&, const ChangeScope&, Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void setMirror(const std::string&, const std::string&, double, const ChangeScope&,
                 Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void startRollout(const nlohmann::json&, const std::string&, Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void showRollouts(const std::string&, Responder respond) override {
    respond(jsonReply(200, {{"rollouts", nlohmann::json::array()}}));
  }
  void switchAndVerify(const std::string&, const std::string&, const std::string&,
                       const ChangeScope&, Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void rolloutCommand(const std::string&, const std::string&, Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void reload(Responder respond) override { respond(jsonReply(200, {})); }
  void setBackendAdmin(const std::string& pool, const std::string& address, routing::AdminState,
                       absl::Duration, const ChangeScope&, Responder respond) override {
    calls.push_back("backend " + pool + " " + address);
    respond(jsonReply(200, {}));
  }
  void addBackend(const std::string&, const nlohmann::json&, Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void reweightBackend(const std::string&, const std::string&, const nlohmann::json&,
                       Responder respond) override {
    respond(jsonReply(200, {}));
  }
  void removeBackend(const std::string&, const std::string&, absl::Duration, bool,
                     Responder respond) override {
    respond(jsonReply(200, {}));
  }
  nlohmann::json status() const override { return {{"routes", nlohmann::json::array()}}; }
  nlohmann::json stats() const override {
    StatsSampler sampler;
    sampler.add(100, {});
    return sampler.toJson();
  }
  bool ready() const override { return true; }
  std::string metrics() const override { return ""; }

  std::vector<std::string> calls;
};

// A request as a browser on `origin` would send it to the admin listener at 127.0.0.1:9901.
AdminRequest consoleRequest(std::string method, std::string target) {
  AdminRequest request = parseAdminTarget(method, target);
  request.host = "127.0.0.1:9901";
  request.peer = "127.0.0.1:50000";
  return request;
}

Reply consoleCall(AdminApi& api, const AdminRequest& request) {
  Reply got;
  got.status = -1;
  api.handle(request, [&](Reply reply) { got = std::move(reply); });
  return got;
}

std::optional<std::string> consoleHeader(const Reply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(ConsoleTest, ServesTheEmbeddedPageWithAStrictPolicy) {
  ConsoleFakeControl control;
  AdminApi api(control);
  for (const char* path : {"/", "/ui", "/ui/"}) {
    const Reply page = consoleCall(api, consoleRequest("GET", path));
    EXPECT_EQ(page.status, 200) << path;
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_THAT(page.text, HasSubstr("<script src=\"/ui/console.js\""));
    EXPECT_THAT(page.text, ::testing::Not(HasSubstr("<script>")));  // nothing inline
    EXPECT_EQ(consoleHeader(page, "Content-Security-Policy"), AdminApi::kConsolePolicy);
  }
  const Reply script = consoleCall(api, consoleRequest("GET", "/ui/console.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_THAT(script.text, HasSubstr("/admin/stats"));
  EXPECT_EQ(consoleCall(api, consoleRequest("GET", "/ui/console.css")).content_type,
            "text/css; charset=utf-8");
  EXPECT_EQ(consoleCall(api, consoleRequest("GET", "/ui/secret.txt")).status, 404);
  EXPECT_EQ(consoleCall(api, consoleRequest("POST", "/ui")).status, 405);
}

TEST(ConsoleTest, ThePageNeedsNoTokenButTheApiDoes) {
  ConsoleFakeControl control;
  AdminApi api(control);
  api.setToken("s3cret");
  EXPECT_EQ(consoleCall(api, consoleRequest("GET", "/")).status, 200);
  EXPECT_EQ(consoleCall(api, consoleRequest("GET", "/admin/stats")).status, 401);
}

TEST(ConsoleTest, StatsCarryTheFiguresAndTheSwitchMarkers) {
  ConsoleFakeControl control;
  AdminApi api(control);
  EXPECT_EQ(consoleCall(api, consoleRequest("POST", "/admin/switch?to=green")).status, 200);
  EXPECT_EQ(consoleCall(api, consoleRequest("POST", "/admin/reload")).status, 200);
  const Reply stats = consoleCall(api, consoleRequest("GET", "/admin/stats"));
  ASSERT_EQ(stats.status, 200);
  for (const char* key : {"interval_seconds", "windows", "times", "routes", "pools", "markers"}) {
    EXPECT_TRUE(stats.body.contains(key)) << key;
  }
  ASSERT_EQ(stats.body["markers"].size(), 1u);  // the reload moves no traffic
  const nlohmann::json& marker = stats.body["markers"][0];
  EXPECT_EQ(marker["what"], "switch");
  EXPECT_EQ(marker["route"], "web");
  EXPECT_EQ(marker["by"], "anonymous");
  EXPECT_GT(marker["time"].get<double>(), 1.7e9);
  EXPECT_EQ(consoleCall(api, consoleRequest("GET", "/admin/stats?x=1")).status, 400);
}

TEST(ConsoleTest, RefusesChangesFromAnotherOrigin) {
  ConsoleFakeControl control;
  AdminApi api(control);
  struct Case {
    std::optional<std::string> origin;
    std::string sec_fetch_site;
    int status;
  };
  const std::vector<Case> cases = {
      {"http://evil.example", "", 403},
      {"http://evil.example", "cross-site", 403},
      {std::nullopt, "cross-site", 403},
      {std::nullopt, "same-site", 403},  // another port or subdomain of the same site
      {"null", "", 403},                 // a sandboxed frame or a file: page
      {"http://127.0.0.1:9902", "", 403},
      {"", "", 403},
      {"http://127.0.0.1:9901", "same-origin", 200},  // the console itself
      {"https://127.0.0.1:9901", "", 200},
      {std::nullopt, "none", 200},  // typed by the user
      {std::nullopt, "", 200},      // curl, scripts
  };
  for (const Case& c : cases) {
    control.calls.clear();
    AdminRequest request = consoleRequest("POST", "/admin/switch?to=green");
    request.has_origin = c.origin.has_value();
    request.origin = c.origin.value_or("");
    request.sec_fetch_site = c.sec_fetch_site;
    const Reply reply = consoleCall(api, request);
    const std::string what = c.origin.value_or("(none)") + " / " + c.sec_fetch_site;
    EXPECT_EQ(reply.status, c.status) << what;
    if (c.status == 403) {
      EXPECT_THAT(control.calls, IsEmpty()) << what;
      EXPECT_THAT(reply.body["error"].get<std::string>(), HasSubstr("cross-origin")) << what;
    } else {
      EXPECT_EQ(control.calls.size(), 1u) << what;
    }
  }
  // Reads stay possible: the browser keeps their answers from another origin (no CORS headers).
  AdminRequest read = consoleRequest("GET", "/admin/stats");
  read.has_origin = true;
  read.origin = "http://evil.example";
  EXPECT_EQ(consoleCall(api, read).status, 200);
  // Backend actions are changes too.
  AdminRequest drain = consoleRequest("POST", "/admin/pools/blue/backends/127.0.0.1:8081/drain");
  drain.sec_fetch_site = "cross-site";
  control.calls.clear();
  EXPECT_EQ(consoleCall(api, drain).status, 403);
  EXPECT_THAT(control.calls, IsEmpty());
}

TEST(ConsoleTest, HostMustNameTheListener) {
  ConsoleFakeControl control;
  AdminApi api(control);
  const auto withHost = [](std::string method, std::string target, std::string host) {
    AdminRequest request = consoleRequest(std::move(method), std::move(target));
    request.host = std::move(host);
    return request;
  };
  for (const char* host :
       {"127.0.0.1:9901", "[::1]:9901", "localhost:9901", "LOCALHOST", "10.1.2.3", ""}) {
    EXPECT_EQ(consoleCall(api, withHost("GET", "/admin/status", host)).status, 200) << host;
  }
  // A rebound name: refused for the page, the reads and the changes.
  for (const char* target : {"/", "/admin/status", "/admin/stats"}) {
    EXPECT_EQ(consoleCall(api, withHost("GET", target, "evil.example:9901")).status, 403) << target;
  }
  control.calls.clear();
  EXPECT_EQ(consoleCall(api, withHost("POST", "/admin/switch?to=green", "evil.example")).status,
            403);
  EXPECT_THAT(control.calls, IsEmpty());
  // Probes are not behind the check (scrapers use whatever name they know).
  EXPECT_EQ(consoleCall(api, withHost("GET", "/healthz", "evil.example")).status, 200);

  api.setAllowedHosts({"lb.internal"});
  EXPECT_EQ(consoleCall(api, withHost("GET", "/admin/status", "LB.internal:9901")).status, 200);
  EXPECT_EQ(consoleCall(api, withHost("GET", "/admin/status", "evil.example")).status, 403);
  api.setAllowedHosts({"*"});
  EXPECT_EQ(consoleCall(api, withHost("GET", "/admin/status", "evil.example")).status, 200);
}

TEST(ConsoleTest, HostWithoutPort) {
  EXPECT_EQ(hostWithoutPort("127.0.0.1:9901"), "127.0.0.1");
  EXPECT_EQ(hostWithoutPort("[::1]:9901"), "::1");
  EXPECT_EQ(hostWithoutPort("[::1]"), "::1");
  EXPECT_EQ(hostWithoutPort("name"), "name");
  EXPECT_EQ(hostWithoutPort("::1"), "::1");
}

StatsFigures consoleFigures(uint64_t requests, uint64_t errors, size_t bucket) {
  StatsFigures f;
  f.requests = requests;
  f.responses_5xx = errors;
  f.duration[bucket] = requests;
  return f;
}

TEST(StatsSamplerTest, QuantilesFromBuckets) {
  std::array<uint64_t, core::LocalHistogram::kBuckets> buckets{};
  EXPECT_LT(histogramQuantileMs(buckets, 0.5), 0);  // empty
  buckets[2] = 100;                                 // (1 ms, 2.5 ms]
  EXPECT_NEAR(histogramQuantileMs(buckets, 0.5), 1.75, 1e-9);
  EXPECT_NEAR(histogramQuantileMs(buckets, 0.99), 2.485, 1e-9);
  buckets[0] = 100;  // half now at or below 0.5 ms
  EXPECT_NEAR(histogramQuantileMs(buckets, 0.5), 0.5, 1e-9);
  buckets = {};
  buckets[core::LocalHistogram::kBuckets - 1] = 3;  // +Inf: its lower bound, 60 s
  EXPECT_NEAR(histogramQuantileMs(buckets, 0.99), 60000, 1e-9);
}

TEST(StatsSamplerTest, RatesWindowsAndSeries) {
  StatsSampler sampler;
  StatsReading reading;
  reading.routes["web"] = consoleFigures(0, 0, 3);
  reading.pools["blue"] = consoleFigures(0, 0, 3);
  sampler.add(1000, reading);
  EXPECT_EQ(sampler.samples(), 0u);
  for (int second = 1; second <= 20; ++second) {
    reading.routes["web"] = consoleFigures(100 * second, 5 * second, 3);
    reading.pools["blue"] = consoleFigures(100 * second, 5 * second, 3);
    reading.pools["blue"].upstream_failures = second;
    sampler.add(1000 + second, reading);
  }
  const nlohmann::json json = sampler.toJson();
  EXPECT_EQ(json["times"].size(), 20u);
  EXPECT_EQ(json["times"][0], 1001);
  const nlohmann::json& web = json["routes"]["web"];
  EXPECT_EQ(web["windows"]["10s"]["requests"], 1000);
  EXPECT_DOUBLE_EQ(web["windows"]["10s"]["rps"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(web["windows"]["10s"]["error_rate"].get<double>(), 0.05);
  EXPECT_DOUBLE_EQ(web["windows"]["60s"]["rps"].get<double>(), 100);  // over the 20 s it has
  EXPECT_NEAR(web["windows"]["10s"]["p50_ms"].get<double>(), 3.75, 1e-9);
  EXPECT_EQ(web["series"]["rps"].size(), 20u);
  EXPECT_DOUBLE_EQ(web["series"]["rps"][19].get<double>(), 100);
  EXPECT_FALSE(web["windows"]["10s"].contains("upstream_failures"));
  const nlohmann::json& blue = json["pools"]["blue"];
  EXPECT_EQ(blue["windows"]["10s"]["upstream_failures"], 10);
  EXPECT_DOUBLE_EQ(blue["windows"]["10s"]["error_rate"].get<double>(), 0.06);

  // A counter that restarted (its object was rebuilt) counts from zero, never negative.
  reading.routes["web"] = consoleFigures(10, 0, 3);
  sampler.add(1021, reading);
  const nlohmann::json after = sampler.toJson();
  EXPECT_EQ(after["routes"]["web"]["series"]["rps"].back(), 0);
  EXPECT_TRUE(after["routes"]["web"]["series"]["p50_ms"].back().is_null());
}

TEST(StatsSamplerTest, TheRingKeepsFiveMinutes) {
  StatsSampler sampler;
  for (int second = 0; second <= 400; ++second) sampler.add(second, {});
  EXPECT_EQ(sampler.samples(), StatsSampler::kRingSeconds);
}

}  // namespace
}  // namespace sy::admin
