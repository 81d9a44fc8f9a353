// Per-request routing cost: the route match (first match wins, a linear scan) with 1, 10 and
// 100 routes, and the pool choice (rules, then the canary split) for one request.

#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/stable_hash.h"
#include "http/http1_parser.h"
#include "routing/route_table.h"
#include "routing/traffic_split.h"

namespace sy::routing {
namespace {

using config::HashKeyConfig;
using config::MatchRuleConfig;

// A parsed request to route: host api.example.com, a query string, a session cookie and an
// x-version header that no rule matches.
class ParsedRequest final : public http::ParserCallbacks {
 public:
  ParsedRequest() : parser(http::Http1Parser::Type::kRequest, this) {
    static constexpr std::string_view kRequest =
        "GET /svc/last/orders/1234?page=2&beta=0 HTTP/1.1\r\n"
        "Host: Api.Example.com:8080\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
        "Accept: application/json\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Accept-Language: en-US,en;q=0.9\r\n"
        "X-Version: stable\r\n"
        "Cookie: _ga=GA1.2.1234567890.1698765432; session=7f3a9c2e51d84b6fa0e2c4d6; theme=dark\r\n"
        "\r\n";
    size_t consumed = 0;
    parser.execute(kRequest.data(), kRequest.size(), &consumed);
  }
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char*, size_t) override {}
  void onMessageComplete() override {}

  std::string_view host() const { return parser.headers().find("host").value_or(""); }
  std::string_view target() const { return parser.url(); }

  http::Http1Parser parser;
};

// `count` routes; every one but the last is for another host or another path, so that the
// request below is matched by the last route (the worst case of the linear scan). Half of the
// routes name hosts (exact and wildcard), half only path prefixes.
RouteTable makeTable(int count) {
  std::vector<Route> routes;
  for (int i = 0; i + 1 < count; ++i) {
    Route route;
    route.name = "route-" + std::to_string(i);
    if (i % 2 == 0) {
      route.hosts.push_back(HostMatcher::parse("svc" + std::to_string(i) + ".example.com"));
      route.hosts.push_back(HostMatcher::parse("*.svc" + std::to_string(i) + ".example.com"));
    }
    route.path_prefix = "/svc/" + std::to_string(i) + "/";
    route.pool_index = static_cast<uint32_t>(i % 4);
    routes.push_back(std::move(route));
  }
  Route last;
  last.name = "api";
  last.hosts.push_back(HostMatcher::parse("*.example.com"));
  last.path_prefix = "/svc/last/";
  routes.push_back(std::move(last));
  return RouteTable(std::move(routes));
}

void BM_RouteMatch(benchmark::State& state) {
  const ParsedRequest request;
  const RouteTable table = makeTable(static_cast<int>(state.range(0)));
  const std::string_view host = request.host();
  const std::string_view target = request.target();
  for (auto _ : state) {
    const Route* route = table.match(host, target);
    benchmark::DoNotOptimize(route);
  }
  if (table.match(host, target) != &table.routes().back()) state.SkipWithError("wrong route");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteMatch)->ArgName("routes")->Arg(1)->Arg(10)->Arg(100);

// Three rules (header, cookie, query) that the request does not match: every one is evaluated.
void addRules(Route& route) {
  route.rules.push_back(
      {MatchRuleConfig::Source::kHeader, MatchRuleConfig::Op::kEquals, "x-version", "canary", 1});
  route.rules.push_back(
      {MatchRuleConfig::Source::kCookie, MatchRuleConfig::Op::kPrefix, "segment", "vip", 2});
  route.rules.push_back(
      {MatchRuleConfig::Source::kQuery, MatchRuleConfig::Op::kEquals, "beta", "1", 1});
}

Route baseRoute() {
  Route route;
  route.name = "web";
  route.pool_index = 0;
  route.split_seed = core::stableHash("web");
  return route;
}

void runChoice(benchmark::State& state, const Route& route, PoolChoice::Reason expected) {
  const ParsedRequest request;
  SplitInput input;
  input.headers = &request.parser.headers();
  input.target = request.target();
  input.client_ip = "198.51.100.23";
  uint64_t random = 0x9e3779b97f4a7c15ULL;
  for (auto _ : state) {
    input.random = (random += 0x9e3779b97f4a7c15ULL);
    benchmark::DoNotOptimize(choosePool(route, input));
  }
  input.random = 1;  // bucket 1: inside any canary
  if (choosePool(route, input).reason != expected) state.SkipWithError("unexpected choice");
  state.SetItemsProcessed(state.iterations());
}

// No rule, no canary: the active pool.
void BM_ChoosePoolActiveOnly(benchmark::State& state) {
  runChoice(state, baseRoute(), PoolChoice::Reason::kActive);
}
BENCHMARK(BM_ChoosePoolActiveOnly);

// A 5% canary decided per request from the worker's random number.
void BM_ChoosePoolCanaryRandom(benchmark::State& state) {
  Route route = baseRoute();
  route.canary_pool_index = 1;
  route.canary_ppm = 50000;
  runChoice(state, route, PoolChoice::Reason::kCanary);
}
BENCHMARK(BM_ChoosePoolCanaryRandom);

// A canary sticky on the session cookie (cookie lookup + hash of the value); the weight does
// not change the cost.
void BM_ChoosePoolCanaryStickyCookie(benchmark::State& state) {
  Route route = baseRoute();
  route.canary_pool_index = 1;
  route.canary_ppm = 1000000;  // everyone, so that the check below is deterministic
  route.sticky = HashKeyConfig{HashKeyConfig::Source::kCookie, "session", "cookie:session"};
  runChoice(state, route, PoolChoice::Reason::kCanary);
}
BENCHMARK(BM_ChoosePoolCanaryStickyCookie);

// A canary sticky on the client address (hash of the address text).
void BM_ChoosePoolCanaryStickyClientIp(benchmark::State& state) {
  Route route = baseRoute();
  route.canary_pool_index = 1;
  route.canary_ppm = 1000000;
  route.sticky = HashKeyConfig{HashKeyConfig::Source::kClientIp, "", "client_ip"};
  runChoice(state, route, PoolChoice::Reason::kCanary);
}
BENCHMARK(BM_ChoosePoolCanaryStickyClientIp);

// Three rules that do not match (header, cookie, query), then a sticky-cookie canary.
void BM_ChoosePoolRulesThenCanary(benchmark::State& state) {
  Route route = baseRoute();
  addRules(route);
  route.canary_pool_index = 1;
  route.canary_ppm = 1000000;
  route.sticky = HashKeyConfig{HashKeyConfig::Source::kCookie, "session", "cookie:session"};
  runChoice(state, route, PoolChoice::Reason::kCanary);
}
BENCHMARK(BM_ChoosePoolRulesThenCanary);

// The first rule matches (x-version: stable).
void BM_ChoosePoolRuleHit(benchmark::State& state) {
  Route route = baseRoute();
  route.rules.push_back(
      {MatchRuleConfig::Source::kHeader, MatchRuleConfig::Op::kEquals, "x-version", "stable", 2});
  addRules(route);
  runChoice(state, route, PoolChoice::Reason::kRule);
}
BENCHMARK(BM_ChoosePoolRuleHit);

// What a request pays for routing in all: route match among N routes (the last one matches),
// then three rules and a sticky canary on that route.
void BM_RouteAndChoose(benchmark::State& state) {
  const ParsedRequest request;
  RouteTable table = makeTable(static_cast<int>(state.range(0)));
  std::vector<Route> routes = table.routes();
  Route& last = routes.back();
  addRules(last);
  last.canary_pool_index = 1;
  last.canary_ppm = 50000;
  last.sticky = HashKeyConfig{HashKeyConfig::Source::kCookie, "session", "cookie:session"};
  table = RouteTable(std::move(routes));
  SplitInput input;
  input.headers = &request.parser.headers();
  input.target = request.target();
  const std::string_view host = request.host();
  for (auto _ : state) {
    const Route* route = table.match(host, input.target);
    benchmark::DoNotOptimize(choosePool(*route, input));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteAndChoose)->ArgName("routes")->Arg(1)->Arg(10)->Arg(100);

}  // namespace
}  // namespace sy::routing
