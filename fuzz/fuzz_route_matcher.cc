// The route/rule matcher (routing/route_table, routing/traffic_split): a route table and a
// request built from the input.
//
// Invariants: matching is deterministic and first-match (the chosen route matches host and path
// prefix, no earlier route does, no route at all means none matches); host matching ignores
// ASCII case, a port and a trailing dot (RFC 9110 §4.2.3, §7.2); a query string never changes
// the route; the pool choice is deterministic, is a rule's pool exactly when the first matching
// rule says so, and otherwise splits by the canary share; a request with a sticky key gets the
// same pool whatever the random number, and stays in the canary when the share grows.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "http/header_block.h"
#include "routing/route_table.h"
#include "routing/traffic_split.h"

namespace sy::fuzz {
namespace {

using routing::MatchRule;
using routing::Route;
using Source = routing::config::MatchRuleConfig::Source;
using Op = routing::config::MatchRuleConfig::Op;

constexpr uint32_t kPools = 4;

bool within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

std::string upper(std::string text) {
  for (char& c : text) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return text;
}

// Small alphabets make collisions between patterns and requests likely.
std::string word(FuzzedDataProvider& in, size_t max) { return in.ConsumeRandomLengthString(max); }

Route makeRoute(FuzzedDataProvider& in, size_t index) {
  Route route;
  route.name = "r" + std::to_string(index);
  const size_t hosts = in.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < hosts; ++i)
    route.hosts.push_back(routing::HostMatcher::parse(word(in, 16)));
  route.path_prefix = "/" + word(in, 8);
  route.pool_index = in.ConsumeIntegralInRange<uint32_t>(0, kPools - 1);
  const size_t rules = in.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < rules; ++i) {
    MatchRule rule;
    rule.source = static_cast<Source>(in.ConsumeIntegralInRange<int>(0, 2));
    rule.op = static_cast<Op>(in.ConsumeIntegralInRange<int>(0, 2));
    rule.name = word(in, 8);
    rule.value = word(in, 8);
    rule.pool_index = in.ConsumeIntegralInRange<uint32_t>(0, kPools - 1);
    route.rules.push_back(std::move(rule));
  }
  if (in.ConsumeBool()) {
    route.canary_pool_index = in.ConsumeIntegralInRange<int32_t>(0, kPools - 1);
    route.canary_ppm = in.ConsumeIntegralInRange<uint32_t>(0, routing::kMillion);
  }
  if (in.ConsumeBool()) {
    routing::config::HashKeyConfig key;
    key.source =
        static_cast<routing::config::HashKeyConfig::Source>(in.ConsumeIntegralInRange<int>(0, 2));
    if (key.source != routing::config::HashKeyConfig::Source::kClientIp) key.name = word(in, 8);
    route.sticky = key;
  }
  route.split_seed = in.ConsumeIntegral<uint64_t>();
  if (in.ConsumeBool()) {
    route.mirror_pool_index = in.ConsumeIntegralInRange<int32_t>(0, kPools - 1);
    route.mirror_ppm = in.ConsumeIntegralInRange<uint32_t>(0, routing::kMillion);
  }
  return route;
}

bool routeMatches(const Route& route, std::string_view host, std::string_view target) {
  const std::string_view path = routing::requestPath(target);
  return path.substr(0, route.path_prefix.size()) == route.path_prefix &&
         route.matchesHost(routing::normalizeHost(host));
}

// The subject a rule looks at, found independently of traffic_split.cc.
std::optional<std::string_view> subjectOf(const MatchRule& rule, const http::HeaderBlock& headers,
                                          std::string_view target) {
  switch (rule.source) {
    case Source::kHeader:
      return headers.find(rule.name);
    case Source::kCookie:
      return http::findCookie(headers, rule.name);
    case Source::kQuery:
      return routing::findQueryParameter(target, rule.name);
  }
  return std::nullopt;
}

bool ruleMatches(const MatchRule& rule, const http::HeaderBlock& headers, std::string_view target) {
  const auto subject = subjectOf(rule, headers, target);
  if (!subject) return false;
  if (rule.op == Op::kPresent) return true;
  if (rule.op == Op::kEquals) return *subject == rule.value;
  return subject->size() >= rule.value.size() &&
         subject->compare(0, rule.value.size(), rule.value) == 0;
}

void checkSplit(const Route& route, const http::HeaderBlock& headers, std::string_view target,
                std::string_view client_ip, uint64_t random) {
  routing::SplitInput input{&headers, target, client_ip, random};
  const routing::PoolChoice choice = routing::choosePool(route, input);
  const routing::PoolChoice again = routing::choosePool(route, input);
  SY_FUZZ_CHECK(choice.pool_index == again.pool_index && choice.reason == again.reason,
                "pool choice is not deterministic");
  const MatchRule* first_rule = nullptr;
  for (const MatchRule& rule : route.rules) {
    if (ruleMatches(rule, headers, target)) {
      first_rule = &rule;
      break;
    }
  }
  if (first_rule != nullptr) {
    SY_FUZZ_CHECK(choice.reason == routing::PoolChoice::Reason::kRule &&
                      choice.pool_index == first_rule->pool_index,
                  "the first matching rule does not decide the pool");
    return;
  }
  SY_FUZZ_CHECK(choice.reason != routing::PoolChoice::Reason::kRule,
                "a rule decided but none matches");
  if (route.canary_pool_index < 0 || route.canary_ppm == 0) {
    SY_FUZZ_CHECK(choice.reason == routing::PoolChoice::Reason::kActive &&
                      choice.pool_index == route.pool_index,
                  "no canary but not the active pool");
    return;
  }
  SY_FUZZ_CHECK(choice.pool_index == (choice.reason == routing::PoolChoice::Reason::kCanary
                                          ? static_cast<uint32_t>(route.canary_pool_index)
                                          : route.pool_index),
                "pool and reason disagree");
  // Which key the split hashes, if any (an empty key is no key).
  std::optional<std::string_view> key;
  if (route.sticky) {
    switch (route.sticky->source) {
      case routing::config::HashKeyConfig::Source::kHeader:
        key = headers.find(route.sticky->name);
        break;
      case routing::config::HashKeyConfig::Source::kCookie:
        key = http::findCookie(headers, route.sticky->name);
        break;
      case routing::config::HashKeyConfig::Source::kClientIp:
        key = client_ip;
        break;
    }
    if (key && key->empty()) key.reset();
  }
  if (!key) {
    const bool canary = random % routing::kMillion < route.canary_ppm;
    SY_FUZZ_CHECK(canary == (choice.reason == routing::PoolChoice::Reason::kCanary),
                  "random split disagrees with the canary share");
    return;
  }
  const uint32_t bucket = routing::stickyBucket(*key, route.split_seed);
  SY_FUZZ_CHECK(bucket < routing::kMillion, "sticky bucket out of range");
  routing::SplitInput other = input;
  other.random = ~random * 0x9e3779b97f4a7c15ULL;
  const routing::PoolChoice second = routing::choosePool(route, other);
  SY_FUZZ_CHECK(second.pool_index == choice.pool_index,
                "sticky user changes pool with the random number");
  if (choice.reason == routing::PoolChoice::Reason::kCanary &&
      route.canary_ppm < routing::kMillion) {
    Route grown = route;
    grown.canary_ppm = route.canary_ppm + (routing::kMillion - route.canary_ppm) / 2 + 1;
    SY_FUZZ_CHECK(routing::choosePool(grown, input).reason == routing::PoolChoice::Reason::kCanary,
                  "a sticky canary user leaves the canary when its share grows");
  }
}

}  // namespace
}  // namespace sy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sy;
  FuzzedDataProvider in(data, size);
  std::vector<routing::Route> routes;
  const size_t count = in.ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < count; ++i) routes.push_back(fuzz::makeRoute(in, i));
  const routing::RouteTable table(routes);

  const std::string host = in.ConsumeRandomLengthString(32);
  const std::string target = in.ConsumeRandomLengthString(64);
  const std::string client_ip = in.ConsumeRandomLengthString(16);
  const uint64_t random = in.ConsumeIntegral<uint64_t>();
  http::HeaderBlock headers;
  const size_t fields = in.ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < fields; ++i) {
    const std::string name = in.ConsumeRandomLengthString(12);
    const std::string value = in.ConsumeRandomLengthString(24);
    headers.appendName(name.data(), name.size());
    headers.appendValue(value.data(), value.size());
    headers.finishValue();
  }

  SY_FUZZ_CHECK(fuzz::within(routing::normalizeHost(host), host),
                "normalized host is not part of the host");
  const std::string_view path = routing::requestPath(target);
  SY_FUZZ_CHECK(fuzz::within(path, target) || path == "/",
                "request path is not part of the target");

  const routing::Route* route = table.match(host, target);
  SY_FUZZ_CHECK(route == table.match(host, target), "route match is not deterministic");
  for (const routing::Route& candidate : table.routes()) {
    if (&candidate == route) break;
    SY_FUZZ_CHECK(!fuzz::routeMatches(candidate, host, target), "an earlier route matches too");
  }
  if (route == nullptr) {
    for (const routing::Route& candidate : table.routes()) {
      SY_FUZZ_CHECK(!fuzz::routeMatches(candidate, host, target),
                    "no route chosen though one matches");
    }
  } else {
    SY_FUZZ_CHECK(fuzz::routeMatches(*route, host, target), "the chosen route does not match");
  }
  // Host names are case-insensitive; a port or a trailing dot names the same host.
  SY_FUZZ_CHECK(table.match(fuzz::upper(host), target) == route, "host match depends on case");
  if (!host.empty() && host.find_first_of(":[]") == std::string::npos && host.back() != '.') {
    SY_FUZZ_CHECK(table.match(host + ":8080", target) == route, "a port changes the route");
    SY_FUZZ_CHECK(table.match(host + ".", target) == route, "a trailing dot changes the route");
  }
  if (target.find_first_of("?#") == std::string::npos && !target.empty() && target != "*") {
    SY_FUZZ_CHECK(table.match(host, target + "?a=1&b") == route,
                  "a query string changes the route");
  }

  for (const routing::Route& candidate : table.routes()) {
    fuzz::checkSplit(candidate, headers, target, client_ip, random);
    routing::SplitInput input{&headers, target, client_ip, random};
    const bool mirrored = routing::sampleMirror(candidate, input);
    SY_FUZZ_CHECK(mirrored == routing::sampleMirror(candidate, input),
                  "mirror sampling is not deterministic");
    if (candidate.mirror_pool_index < 0 || candidate.mirror_ppm == 0)
      SY_FUZZ_CHECK(!mirrored, "mirrored at 0%");
    if (candidate.mirror_pool_index >= 0 && candidate.mirror_ppm >= routing::kMillion)
      SY_FUZZ_CHECK(mirrored, "not mirrored at 100%");
    for (const routing::MatchRule& rule : candidate.rules) {
      if (rule.source != routing::config::MatchRuleConfig::Source::kQuery) continue;
      const auto value = routing::findQueryParameter(target, rule.name);
      if (value && !value->empty()) {
        SY_FUZZ_CHECK(fuzz::within(*value, target), "query value is not part of the target");
        SY_FUZZ_CHECK(value->find_first_of("&#") == std::string_view::npos,
                      "query value runs past its parameter");
      }
    }
  }
  return 0;
}
