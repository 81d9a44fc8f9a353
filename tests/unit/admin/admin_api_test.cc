// AdminApi against a fake ControlPlane: probes, the bearer token, methods, endpoints, parameter
// checks, route defaulting, and that a rejected request never reaches the control plane.

#include "admin/admin_api.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sy::admin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Records every call and answers each change with a canned reply.
class FakeControlPlane final : public ControlPlane {
 public:
  std::vector<std::string> routeNames() const override {
    ++route_name_queries;
    return routes;
  }
  void switchPool(const std::string& route, const std::string& pool, bool force,
                  const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("switch " + route + " " + pool + (force ? " force" : ""));
    respond(canned);
  }
  void rollback(const std::string& route, const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("rollback " + route);
    respond(canned);
  }
  void setCanary(const std::string& route, const std::string& pool, double weight,
                 const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("canary " + route + " " + pool);
    weights.push_back(weight);
    respond(canned);
  }
  void promote(const std::string& route, const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("promote " + route);
    respond(canned);
  }
  void reload(Responder respond) override {
    calls.push_back("reload");
    respond(canned);
  }
  void upgrade(const std::string& binary, Responder respond) override {
    calls.push_back("upgrade " + binary);
    respond(canned);
  }
  void startRollout(const nlohmann::json& body, const std::string& default_route,
                    Responder respond) override {
    calls.push_back("rollout start " + default_route + " " + body.dump());
    respond(canned);
  }
  void switchAndVerify(const std::string& route, const std::string& pool, const std::string& verify,
                       const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("switch " + route + " " + pool + " verify " + verify);
    respond(canned);
  }
  void showRollouts(const std::string& route, Responder respond) override {
    calls.push_back("rollout show " + route);
    respond(canned);
  }
  void rolloutCommand(const std::string& route, const std::string& verb,
                      Responder respond) override {
    calls.push_back("rollout " + verb + " " + route);
    respond(canned);
  }
  void setMirror(const std::string& route, const std::string& pool, double percent,
                 const ChangeScope& scope, Responder respond) override {
    noteScope(scope);
    calls.push_back("mirror " + route + " " + pool);
    weights.push_back(percent);
    respond(canned);
  }
  void setBackendAdmin(const std::string& pool, const std::string& address,
                       routing::AdminState state, absl::Duration wait, const ChangeScope& scope,
                       Responder respond) override {
    noteScope(scope);
    calls.push_back("backend " + pool + " " + address + " " + routing::adminStateName(state) + " " +
                    absl::FormatDuration(wait));
    respond(canned);
  }
  void addBackend(const std::string& pool, const nlohmann::json& body, Responder respond) override {
    calls.push_back("add " + pool + " " + body.dump());
    respond(canned);
  }
  void reweightBackend(const std::string& pool, const std::string& address,
                       const nlohmann::json& body, Responder respond) override {
    calls.push_back("reweight " + pool + " " + address + " " + body.dump());
    respond(canned);
  }
  void removeBackend(const std::string& pool, const std::string& address, absl::Duration wait,
                     bool force, Responder respond) override {
    calls.push_back("remove " + pool + " " + address + " " + absl::FormatDuration(wait) +
                    (force ? " force" : ""));
    respond(canned);
  }
  nlohmann::json status() const override {
    ++status_queries;
    return {{"routes", routes}};
  }
  bool ready() const override { return is_ready; }
  std::string metrics() const override { return "# metrics\n"; }

  bool fleetEnabled() const override { return fleet; }
  void noteScope(const ChangeScope& scope) {
    if (scope.wait_all.has_value()) wait_alls.push_back(*scope.wait_all);
    if (scope.local) ++local_calls;
  }
  std::vector<std::string> routes = {"web"};
  bool fleet = false;
  std::vector<absl::Duration> wait_alls;  // of the calls with ?wait=all
  int local_calls = 0;                    // with ?local=1
  bool is_ready = true;
  Reply canned = jsonReply(200, {{"done", true}});

  std::vector<std::string> calls;  // every change, in order
  std::vector<double> weights;     // of the setCanary calls
  mutable int route_name_queries = 0;
  mutable int status_queries = 0;
};

std::optional<std::string> headerOf(const Reply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

class AdminApiTest : public ::testing::Test {
 protected:
  // The single reply `target` gets; a missing or second reply fails the test.
  Reply send(const std::string& method, const std::string& target,
             const std::string& authorization = "") {
    AdminRequest request = parseAdminTarget(method, target);
    request.authorization = authorization;
    std::vector<Reply> replies;
    api_.handle(request, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
    EXPECT_EQ(replies.size(), 1u) << method << " " << target;
    return replies.empty() ? Reply{} : replies.front();
  }

  // `target` must be refused with `status` and an error naming `part`, without any change.
  void expectRejected(const std::string& method, const std::string& target, int status,
                      const std::string& part = "", const std::string& authorization = "") {
    SCOPED_TRACE(method + " " + target);
    const Reply reply = send(method, target, authorization);
    EXPECT_EQ(reply.status, status);
    ASSERT_TRUE(reply.body.contains("error")) << reply.body.dump();
    EXPECT_THAT(reply.body["error"].get<std::string>(), HasSubstr(part));
    EXPECT_THAT(control_.calls, IsEmpty());
    EXPECT_EQ(control_.status_queries, 0);
  }

  FakeControlPlane control_;
  AdminApi api_{control_};
};

// --- probes ---

TEST_F(AdminApiTest, HealthzAnswersWithoutToken) {
  api_.setToken("s3cret");
  const Reply reply = send("GET", "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["status"], "ok");
  EXPECT_THAT(control_.calls, IsEmpty());
}

TEST_F(AdminApiTest, ReadyzFollowsTheControlPlane) {
  api_.setToken("s3cret");  // probes carry no token
  EXPECT_EQ(send("GET", "/readyz").status, 200);
  control_.is_ready = false;
  const Reply reply = send("GET", "/readyz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body["status"], "shutting down");
}

TEST_F(AdminApiTest, ProbesOnlyAcceptGet) {
  for (const char* path : {"/healthz", "/readyz"}) {
    const Reply reply = send("POST", path);
    EXPECT_EQ(reply.status, 405) << path;
    EXPECT_EQ(headerOf(reply, "Allow"), "GET") << path;
  }
}

// --- the token ---

TEST_F(AdminApiTest, WithoutTokenConfiguredEveryCallPasses) {
  EXPECT_EQ(send("GET", "/admin/status").status, 200);
  EXPECT_EQ(send("GET", "/admin/status", "Bearer anything").status, 200);
}

TEST_F(AdminApiTest, MissingOrWrongTokenIs401WithChallenge) {
  api_.setToken("s3cret");
  for (const char* authorization :
       {"", "Bearer", "Bearer ", "Bearer nope", "Bearer s3cre", "Bearer s3cretX", "s3cret",
        "Basic czNjcmV0", "Bearer  s3cret", "Bearer S3CRET"}) {
    SCOPED_TRACE(authorization);
    for (const auto& [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/admin/status"},
                                                          {"POST", "/admin/switch?to=green"},
                                                          {"POST", "/admin/reload"}}) {
      const Reply reply = send(method, target, authorization);
      EXPECT_EQ(reply.status, 401);
      EXPECT_EQ(headerOf(reply, "WWW-Authenticate"), "Bearer");
      EXPECT_TRUE(reply.body.contains("error"));
    }
  }
  EXPECT_THAT(control_.calls, IsEmpty());
  EXPECT_EQ(control_.status_queries, 0);
  EXPECT_EQ(control_.route_name_queries, 0);
}

TEST_F(AdminApiTest, RightTokenPasses) {
  api_.setToken("s3cret");
  const Reply status = send("GET", "/admin/status", "Bearer s3cret");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body["routes"], nlohmann::json::array({"web"}));
  EXPECT_EQ(send("POST", "/admin/switch?to=green", "Bearer s3cret").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("switch web green"));
}

// An unknown /admin/ endpoint is not revealed to a caller without the token.
TEST_F(AdminApiTest, UnknownAdminEndpointNeedsTheTokenFirst) {
  api_.setToken("s3cret");
  EXPECT_EQ(send("GET", "/admin/nope").status, 401);
  EXPECT_EQ(send("GET", "/admin/nope", "Bearer s3cret").status, 404);
}

// BUG (minor): the scheme of the Authorization header is compared case-sensitively, so
// "bearer s3cret" is refused although auth schemes are case-insensitive (RFC 9110 11.1). Fix:
// compare the first 7 bytes with absl::EqualsIgnoreCase (the token itself stays exact).
TEST_F(AdminApiTest, BearerSchemeIsCaseInsensitive) {
  api_.setToken("s3cret");
  EXPECT_EQ(send("GET", "/admin/status", "bearer s3cret").status, 200);
  EXPECT_EQ(send("GET", "/admin/status", "BEARER s3cret").status, 200);
}

// --- methods and endpoints ---

TEST_F(AdminApiTest, WrongMethodIs405WithAllow) {
  const struct {
    const char* method;
    const char* target;
    const char* allow;
  } kCases[] = {
      {"GET", "/admin/switch?to=green", "POST"},
      {"GET", "/admin/rollback", "POST"},
      {"GET", "/admin/canary?pool=green&weight=5", "POST"},
      {"PUT", "/admin/promote", "POST"},
      {"GET", "/admin/reload", "POST"},
      {"POST", "/admin/status", "GET"},
      {"DELETE", "/admin/status", "GET"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.target);
    const Reply reply = send(c.method, c.target);
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(headerOf(reply, "Allow"), c.allow);
  }
  EXPECT_THAT(control_.calls, IsEmpty());
  EXPECT_EQ(control_.status_queries, 0);
}

TEST_F(AdminApiTest, UnknownEndpointIs404) {
  // "/" is the console (tests/unit/admin/console_test.cc).
  for (const char* path : {"/nope", "/ui/nope", "/admin", "/admin/", "/admin/status/",
                           "/admin/Switch", "/admin/switch/now", "/healthz/", "/admin/%73tatus"}) {
    expectRejected("GET", path, 404, "no such endpoint");
  }
}

// --- parameters ---

TEST_F(AdminApiTest, UnknownParameterIs400NamingIt) {
  expectRejected("POST", "/admin/switch?too=green", 400, "unknown parameter \"too\"");
  expectRejected("POST", "/admin/switch?to=green&pool=blue", 400, "\"pool\"");
  expectRejected("POST", "/admin/rollback?to=blue", 400, "unknown parameter \"to\"");
  expectRejected("POST", "/admin/canary?pool=green&weight=5&force=1", 400, "\"force\"");
  expectRejected("POST", "/admin/promote?pool=green", 400, "\"pool\"");
  expectRejected("GET", "/admin/status?verbose=1", 400, "unknown parameter \"verbose\"");
  expectRejected("POST", "/admin/reload?now", 400, "unknown parameter \"now\"");
}

TEST_F(AdminApiTest, MalformedQueryIs400) {
  expectRejected("POST", "/admin/switch?to=gr%zzeen", 400, "malformed");
  expectRejected("POST", "/admin/rollback?route=%", 400, "malformed");
}

TEST_F(AdminApiTest, MissingRequiredParameterIs400) {
  expectRejected("POST", "/admin/switch", 400, "missing parameter \"to\"");
  expectRejected("POST", "/admin/switch?to=", 400, "missing parameter \"to\"");
  expectRejected("POST", "/admin/switch?route=web", 400, "missing parameter \"to\"");
  expectRejected("POST", "/admin/canary?pool=green", 400, "missing parameter \"weight\"");
  expectRejected("POST", "/admin/canary?pool=green&weight=", 400, "missing parameter \"weight\"");
  expectRejected("POST", "/admin/canary?weight=5", 400, "missing parameter \"pool\"");
  expectRejected("POST", "/admin/canary?weight=5&pool=", 400, "missing parameter \"pool\"");
}

TEST_F(AdminApiTest, BadWeightIs400) {
  for (const char* weight : {"abc", "-1", "-0.001", "101", "100.001", "nan", "NaN", "inf", "-inf",
                             "infinity", "5%25", "5abc", "1e3"}) {
    expectRejected("POST", std::string("/admin/canary?pool=green&weight=") + weight, 400,
                   "parameter \"weight\" must be a number from 0 to 100");
  }
}

// BUG (minor): the weight goes through absl::SimpleAtod, which on Debian's abseil is strtod:
// hexadecimal and hex-float text is accepted ("0x10" is 16%, "0x1p-2" 0.25%), as is surrounding
// whitespace ("%205"). A typo can thus set a canary nobody meant. Fix: accept only
// [0-9]+(\.[0-9]+)? (or std::from_chars with std::chars_format::fixed over the whole text).
TEST_F(AdminApiTest, WeightIsPlainDecimalOnly) {
  for (const char* weight : {"0x10", "0X1A", "0x1p-2", "%205", "5%20"}) {
    expectRejected("POST", std::string("/admin/canary?pool=green&weight=") + weight, 400,
                   "parameter \"weight\" must be a number from 0 to 100");
  }
}

TEST_F(AdminApiTest, GoodWeightsPass) {
  EXPECT_EQ(send("POST", "/admin/canary?pool=green&weight=0.5").status, 200);
  EXPECT_EQ(send("POST", "/admin/canary?pool=green&weight=100").status, 200);
  EXPECT_EQ(send("POST", "/admin/canary?weight=12.25&pool=gray&route=web").status, 200);
  EXPECT_THAT(control_.calls,
              ElementsAre("canary web green", "canary web green", "canary web gray"));
  EXPECT_THAT(control_.weights, ElementsAre(0.5, 100.0, 12.25));
}

TEST_F(AdminApiTest, WeightZeroEndsTheCanaryWithOrWithoutPool) {
  EXPECT_EQ(send("POST", "/admin/canary?weight=0").status, 200);
  EXPECT_EQ(send("POST", "/admin/canary?weight=0&pool=green").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("canary web ", "canary web green"));
  EXPECT_THAT(control_.weights, ElementsAre(0.0, 0.0));
}

TEST_F(AdminApiTest, ForceAcceptsOneZeroTrueFalse) {
  for (const char* force : {"1", "true"}) {
    EXPECT_EQ(send("POST", std::string("/admin/switch?to=green&force=") + force).status, 200);
  }
  for (const char* force : {"0", "false"}) {
    EXPECT_EQ(send("POST", std::string("/admin/switch?to=green&force=") + force).status, 200);
  }
  EXPECT_EQ(send("POST", "/admin/switch?to=green").status, 200);
  EXPECT_THAT(control_.calls,
              ElementsAre("switch web green force", "switch web green force", "switch web green",
                          "switch web green", "switch web green"));
}

TEST_F(AdminApiTest, OtherForceValuesAre400) {
  for (const char* force : {"", "2", "yes", "no", "TRUE", "True", "on", "-1", "1 "}) {
    expectRejected("POST", std::string("/admin/switch?to=green&force=") + force, 400,
                   "parameter \"force\" must be 1, 0, true or false");
  }
  expectRejected("POST", "/admin/switch?to=green&force", 400, "\"force\"");
}

// --- routes ---

TEST_F(AdminApiTest, TheOnlyRouteIsTakenImplicitly) {
  control_.routes = {"main"};
  EXPECT_EQ(send("POST", "/admin/switch?to=green").status, 200);
  EXPECT_EQ(send("POST", "/admin/rollback").status, 200);
  EXPECT_EQ(send("POST", "/admin/canary?pool=green&weight=1").status, 200);
  EXPECT_EQ(send("POST", "/admin/promote").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("switch main green", "rollback main", "canary main green",
                                          "promote main"));
}

TEST_F(AdminApiTest, ANamedRouteIsPassedOnAsIs) {
  control_.routes = {"web", "api"};
  EXPECT_EQ(send("POST", "/admin/switch?route=api&to=green").status, 200);
  // Whether it exists is the control plane's answer (NotFound from TrafficState).
  EXPECT_EQ(send("POST", "/admin/rollback?route=other").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("switch api green", "rollback other"));
}

TEST_F(AdminApiTest, SeveralRoutesAndNoneNamedIs400ListingThem) {
  control_.routes = {"web", "api"};
  for (const char* target :
       {"/admin/switch?to=green", "/admin/rollback", "/admin/canary?pool=green&weight=5",
        "/admin/canary?weight=0", "/admin/promote"}) {
    expectRejected("POST", target, 400, "missing parameter \"route\"");
    const Reply reply = send("POST", target);
    EXPECT_THAT(reply.body["error"].get<std::string>(), HasSubstr("2 routes (web, api)"));
  }
}

TEST_F(AdminApiTest, NoRoutesAndNoneNamedIs400) {
  control_.routes = {};
  expectRejected("POST", "/admin/rollback", 400, "missing parameter \"route\"");
}

TEST_F(AdminApiTest, EmptyRouteIs400) {
  expectRejected("POST", "/admin/switch?to=green&route=", 400, "\"route\" is empty");
  expectRejected("POST", "/admin/promote?route=", 400, "\"route\" is empty");
}

// --- what the control plane answers ---

TEST_F(AdminApiTest, TheControlPlanesReplyIsPassedThrough) {
  control_.canned = errorReply(404, "unknown pool \"purple\"");
  const Reply reply = send("POST", "/admin/switch?to=purple");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body["error"], "unknown pool \"purple\"");
  EXPECT_THAT(control_.calls, ElementsAre("switch web purple"));
}

TEST_F(AdminApiTest, ReloadAndStatusReachTheControlPlane) {
  EXPECT_EQ(send("POST", "/admin/reload").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("reload"));
  const Reply status = send("GET", "/admin/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(control_.status_queries, 1);
}

TEST_F(AdminApiTest, UpgradeTakesAnAbsoluteBinaryPath) {
  EXPECT_EQ(send("POST", "/admin/upgrade").status, 200);
  EXPECT_EQ(send("POST", "/admin/upgrade?binary=%2Fopt%2Fsy%20next%2Fswitchyard").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("upgrade ", "upgrade /opt/sy next/switchyard"));
  control_.calls.clear();
  expectRejected("POST", "/admin/upgrade?binary=switchyard", 400, "absolute path");
  expectRejected("POST", "/admin/upgrade?path=/usr/bin/switchyard", 400, "\"path\"");
  expectRejected("GET", "/admin/upgrade", 405, "POST");
  api_.setToken("s3cret");
  expectRejected("POST", "/admin/upgrade", 401, "token");
}

TEST_F(AdminApiTest, DecodedParametersReachTheControlPlane) {
  EXPECT_EQ(send("POST", "/admin/switch?to=green%2D2&route=w%65b").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("switch web green-2"));
}

// Every kind of rejection in one place, under a token: not one reaches a change.
TEST_F(AdminApiTest, NoRejectedRequestReachesTheControlPlane) {
  api_.setToken("s3cret");
  control_.routes = {"web", "api"};
  const std::string ok = "Bearer s3cret";
  expectRejected("POST", "/admin/switch?to=green&route=web", 401, "token", "Bearer bad");
  expectRejected("GET", "/admin/switch?to=green&route=web", 405, "POST", ok);
  expectRejected("POST", "/admin/switch?to=green&route=web&x=1", 400, "\"x\"", ok);
  expectRejected("POST", "/admin/switch?to=green", 400, "route", ok);
  expectRejected("POST", "/admin/switch?to=green&route=web&force=maybe", 400, "force", ok);
  expectRejected("POST", "/admin/canary?pool=green&weight=200&route=web", 400, "weight", ok);
  expectRejected("POST", "/admin/canary?weight=2&route=web", 400, "pool", ok);
  expectRejected("POST", "/admin/promote?route=web&route=", 400, "route", ok);
  expectRejected("POST", "/admin/rollback?route=w%zz", 400, "malformed", ok);
  expectRejected("GET", "/admin/status?x", 400, "\"x\"", ok);
  expectRejected("POST", "/admin/nothing", 404, "no such endpoint", ok);
}

// Found by fuzz/fuzz_admin_api: a percent-decoded name that is not UTF-8, echoed in an error,
// made nlohmann::json::dump() throw in AdminServer::send(), which ended the process.
TEST_F(AdminApiTest, ErrorsEchoingBytesThatAreNotUtf8StillSerialize) {
  for (const char* target :
       {"/admin/pools/blue/%FF", "/admin/switch?t%C3o=green", "/nope%FF\xC3"}) {
    SCOPED_TRACE(target);
    const Reply reply = send("POST", target);
    EXPECT_GE(reply.status, 400);
    const std::string body = replyBody(reply);
    EXPECT_TRUE(nlohmann::json::accept(body)) << body;
    EXPECT_THAT(body, HasSubstr("\xEF\xBF\xBD"));  // U+FFFD in place of the bad bytes
  }
}

// --- rollouts ---

TEST_F(AdminApiTest, RolloutPathsReachTheControlPlane) {
  AdminRequest start = parseAdminTarget("POST", "/admin/rollouts");
  start.body = R"({"pool": "green"})";
  std::vector<Reply> replies;
  api_.handle(start, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(send("GET", "/admin/rollouts").status, 200);
  EXPECT_EQ(send("GET", "/admin/rollouts/web").status, 200);
  EXPECT_EQ(send("POST", "/admin/rollouts/web/pause").status, 200);
  EXPECT_EQ(send("POST", "/admin/switch?to=green&verify=60s").status, 200);
  EXPECT_THAT(control_.calls,
              ElementsAre("rollout start web {\"pool\":\"green\"}", "rollout show ",
                          "rollout show web", "rollout pause web", "switch web green verify 60s"));
}

TEST_F(AdminApiTest, BadRolloutCallsAreRefused) {
  AdminRequest not_json = parseAdminTarget("POST", "/admin/rollouts");
  not_json.body = "{\"pool\": ";
  std::vector<Reply> replies;
  api_.handle(not_json, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status, 400);
  expectRejected("DELETE", "/admin/rollouts", 405, "use GET, POST");
  expectRejected("POST", "/admin/rollouts/web", 405, "use GET");
  expectRejected("GET", "/admin/rollouts/web/pause", 405, "use POST");
  expectRejected("POST", "/admin/rollouts/web/pause/now", 404, "no such endpoint");
  expectRejected("POST", "/admin/rollouts/web%zz/pause", 400, "malformed path");
  expectRejected("POST", "/admin/switch?to=green&verify=soon", 400, "verify");
  expectRejected("POST", "/admin/switch?to=green&verify=500ms", 400, "verify");
  expectRejected("POST", "/admin/switch?to=green&verify=5s&force=1", 400, "cannot be combined");
}

TEST_F(AdminApiTest, BackendSetPathsReachTheControlPlane) {
  AdminRequest add = parseAdminTarget("POST", "/admin/pools/blue/backends");
  add.body = R"({"address": "127.0.0.1:9001", "weight": 2})";
  std::vector<Reply> replies;
  api_.handle(add, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
  AdminRequest patch = parseAdminTarget("PATCH", "/admin/pools/blue/backends/127.0.0.1%3A9001");
  patch.body = R"({"weight": 3})";
  api_.handle(patch, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(send("DELETE", "/admin/pools/blue/backends/127.0.0.1:9001").status, 200);
  EXPECT_EQ(send("DELETE", "/admin/pools/blue/backends/127.0.0.1:9001?wait=0.5&force=1").status,
            200);
  EXPECT_THAT(control_.calls, ElementsAre("add blue {\"address\":\"127.0.0.1:9001\",\"weight\":2}",
                                          "reweight blue 127.0.0.1:9001 {\"weight\":3}",
                                          "remove blue 127.0.0.1:9001 10s",
                                          "remove blue 127.0.0.1:9001 500ms force"));
}

TEST_F(AdminApiTest, BadBackendSetCallsAreRefused) {
  expectRejected("GET", "/admin/pools/blue/backends", 405, "use POST");
  expectRejected("POST", "/admin/pools/blue/backends/127.0.0.1:9001", 405, "use PATCH, DELETE");
  expectRejected("POST", "/admin/pools/blue/backends", 400, "expected a JSON object");
  expectRejected("DELETE", "/admin/pools/blue/backends/127.0.0.1:9001?wait=soon", 400, "wait");
  expectRejected("DELETE", "/admin/pools/blue/backends/127.0.0.1:9001?force=yes", 400, "force");
  expectRejected("DELETE", "/admin/pools/blue/backends/127.0.0.1:9001?now=1", 400, "unknown");
}

// --- named tokens, roles and the change history ---

class AdminRolesTest : public AdminApiTest {
 protected:
  void SetUp() override {
    api_.setCredentials({{"deploy-bot", "op-secret", routing::config::AdminRole::kOperate},
                         {"grafana", "read-secret", routing::config::AdminRole::kRead}});
  }
  Reply sendFrom(const std::string& method, const std::string& target, const std::string& token,
                 const std::string& peer = "127.0.0.1:40000") {
    AdminRequest request = parseAdminTarget(method, target);
    request.authorization = "Bearer " + token;
    request.peer = peer;
    std::vector<Reply> replies;
    api_.handle(request, [&replies](Reply reply) { replies.push_back(std::move(reply)); });
    EXPECT_EQ(replies.size(), 1u) << method << " " << target;
    return replies.empty() ? Reply{} : replies.front();
  }
};

TEST_F(AdminRolesTest, ReadTokensOnlyReadOperateTokensChange) {
  EXPECT_EQ(sendFrom("GET", "/admin/status", "read-secret").status, 200);
  EXPECT_EQ(sendFrom("GET", "/admin/rollouts", "read-secret").status, 200);
  for (const char* target :
       {"/admin/switch?to=green", "/admin/reload", "/admin/rollback", "/admin/pools/blue/drain"}) {
    SCOPED_TRACE(target);
    const Reply refused = sendFrom("POST", target, "read-secret");
    EXPECT_EQ(refused.status, 403);
    EXPECT_THAT(refused.body["error"].get<std::string>(),
                HasSubstr("\"grafana\" has the read role"));
  }
  EXPECT_THAT(control_.calls, ElementsAre("rollout show "));
  EXPECT_EQ(sendFrom("POST", "/admin/switch?to=green", "op-secret").status, 200);
  EXPECT_THAT(control_.calls, ElementsAre("rollout show ", "switch web green"));
  // A token of neither: 401, as before.
  EXPECT_EQ(sendFrom("GET", "/admin/status", "op-secre").status, 401);
  EXPECT_EQ(sendFrom("GET", "/admin/status", "read-secretX").status, 401);
}

TEST_F(AdminRolesTest, HistoryRecordsEveryChangeNewestFirstAndKeepsTheLastFifty) {
  sendFrom("POST", "/admin/switch?to=green", "op-secret", "10.0.0.7:5555");
  sendFrom("POST", "/admin/switch?to=blue", "read-secret", "10.0.0.8:6666");
  sendFrom("GET", "/admin/status", "read-secret");  // reads are not changes
  control_.canned = errorReply(409, "pool \"green\" has no healthy backend");
  sendFrom("POST", "/admin/switch?to=green", "op-secret");
  control_.canned = jsonReply(200, {{"done", true}});

  nlohmann::json history = sendFrom("GET", "/admin/status", "read-secret").body["history"];
  ASSERT_EQ(history.size(), 3u) << history.dump();
  EXPECT_EQ(history[0]["status"], 409);
  EXPECT_THAT(history[0]["error"].get<std::string>(), HasSubstr("no healthy backend"));
  EXPECT_EQ(history[1]["by"], "grafana");
  EXPECT_EQ(history[1]["status"], 403);
  EXPECT_EQ(history[1]["from"], "10.0.0.8:6666");
  EXPECT_EQ(history[2]["by"], "deploy-bot");
  EXPECT_EQ(history[2]["method"], "POST");
  EXPECT_EQ(history[2]["target"], "/admin/switch?to=green");
  EXPECT_EQ(history[2]["from"], "10.0.0.7:5555");
  EXPECT_EQ(history[2]["status"], 200);

  for (size_t i = 0; i < AdminApi::kHistorySize + 5; ++i) {
    sendFrom("POST", "/admin/promote", "op-secret");
  }
  history = sendFrom("GET", "/admin/status", "read-secret").body["history"];
  ASSERT_EQ(history.size(), AdminApi::kHistorySize);
  EXPECT_EQ(history.back()["target"], "/admin/promote");
}

TEST_F(AdminApiTest, WithoutTokensChangesAreRecordedAsAnonymous) {
  send("POST", "/admin/reload");
  const nlohmann::json history = send("GET", "/admin/status").body["history"];
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["by"], "anonymous");
  EXPECT_EQ(history[0]["target"], "/admin/reload");
}

TEST_F(AdminApiTest, TheProbesSurfaceServesOnlyProbesAndMetrics) {
  AdminApi probes(control_, AdminApi::Surface::kProbes);
  probes.setToken("s3cret");  // not asked for, and not a way in either
  auto call = [&](const std::string& method, const std::string& target,
                  const std::string& authorization = "") {
    AdminRequest request = parseAdminTarget(method, target);
    request.authorization = authorization;
    Reply answer;
    probes.handle(request, [&answer](Reply reply) { answer = std::move(reply); });
    return answer;
  };
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  EXPECT_EQ(call("GET", "/metrics").text, "# metrics\n");
  for (const char* authorization : {"", "Bearer s3cret"}) {
    EXPECT_EQ(call("GET", "/admin/status", authorization).status, 404);
    const Reply refused = call("POST", "/admin/switch?to=green", authorization);
    EXPECT_EQ(refused.status, 404);
    EXPECT_THAT(refused.body["error"].get<std::string>(),
                HasSubstr("/healthz, /readyz and /metrics"));
  }
  EXPECT_THAT(control_.calls, IsEmpty());
  EXPECT_EQ(control_.status_queries, 0);
}

// --- fleet mode: ?wait=all ---

TEST_F(AdminApiTest, WaitAllWithoutFleetIsRefused) {
  expectRejected("POST", "/admin/switch?to=green&wait=all", 400, "[fleet]");
  expectRejected("POST", "/admin/pools/blue/drain?wait=all", 400, "[fleet]");
}

TEST_F(AdminApiTest, WaitAllInFleetModeReachesTheControlPlaneWithItsTimeout) {
  control_.fleet = true;
  EXPECT_EQ(send("POST", "/admin/switch?to=green&wait=all").status, 200);
  EXPECT_EQ(send("POST", "/admin/canary?pool=green&weight=5&wait=all&wait_timeout=2.5").status,
            200);
  // On a backend call, wait=all is not the drain's wait (zero here).
  EXPECT_EQ(send("POST", "/admin/pools/blue/backends/127.0.0.1:9001/drain?wait=all").status, 200);
  EXPECT_EQ(send("POST", "/admin/pools/blue/enable?wait=all&local=0").status, 200);
  EXPECT_THAT(control_.wait_alls, ElementsAre(absl::ZeroDuration(), absl::Seconds(2.5),
                                              absl::ZeroDuration(), absl::ZeroDuration()));
  EXPECT_EQ(control_.calls[2], "backend blue 127.0.0.1:9001 draining 0");
}

TEST_F(AdminApiTest, LocalReachesTheControlPlaneOnEveryVerbThatTakesIt) {
  control_.fleet = true;
  for (const char* target :
       {"/admin/switch?to=green&local=1", "/admin/switch?to=green&verify=60s&local=1",
        "/admin/rollback?local=1", "/admin/canary?pool=green&weight=5&local=1",
        "/admin/mirror?pool=green&percent=5&local=1", "/admin/promote?local=1",
        "/admin/pools/blue/drain?local=1",
        "/admin/pools/blue/backends/127.0.0.1:9001/enable?local=1"}) {
    EXPECT_EQ(send("POST", target).status, 200) << target;
  }
  EXPECT_EQ(control_.local_calls, 8);
  EXPECT_EQ(send("POST", "/admin/switch?to=green&local=0").status, 200);
  EXPECT_EQ(control_.local_calls, 8);
  EXPECT_THAT(control_.wait_alls, IsEmpty());
}

TEST_F(AdminApiTest, WaitAllMisusesAreRefused) {
  control_.fleet = true;
  expectRejected("POST", "/admin/switch?to=green&wait=all&local=1", 400, "local=1");
  expectRejected("POST", "/admin/switch?to=green&wait_timeout=3", 400, "wait_timeout");
  expectRejected("POST", "/admin/switch?to=green&wait=all&wait_timeout=0", 400, "wait_timeout");
  expectRejected("POST", "/admin/switch?to=green&wait=all&wait_timeout=x", 400, "wait_timeout");
  expectRejected("POST", "/admin/switch?to=green&wait=5", 400, "wait");
  expectRejected("POST", "/admin/pools/blue/enable?wait=5", 400, "wait=all");
  expectRejected("POST", "/admin/reload?wait=all", 400, "wait");
}

}  // namespace
}  // namespace sy::admin
