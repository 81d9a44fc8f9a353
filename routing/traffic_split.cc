#include "routing/traffic_split.h"

#include "core/stable_hash.h"
#include "core/strings.h"

namespace sy::routing {
namespace {

using config::HashKeyConfig;
using config::MatchRuleConfig;

std::optional<std::string_view> ruleSubject(const MatchRule& rule, const SplitInput& input) {
  switch (rule.source) {
    case MatchRuleConfig::Source::kHeader:
      return input.headers->find(rule.name);
    case MatchRuleConfig::Source::kCookie:
      return http::findCookie(*input.headers, rule.name);
    case MatchRuleConfig::Source::kQuery:
      return findQueryParameter(input.target, rule.name);
  }
  return std::nullopt;
}

bool ruleMatches(const MatchRule& rule, const SplitInput& input) {
  const std::optional<std::string_view> subject = ruleSubject(rule, input);
  if (!subject) return false;
  switch (rule.op) {
    case MatchRuleConfig::Op::kPresent:
      return true;
    case MatchRuleConfig::Op::kEquals:
      return *subject == rule.value;
    case MatchRuleConfig::Op::kPrefix:
      return subject->substr(0, rule.value.size()) == rule.value;
  }
  return false;
}

std::optional<std::string_view> stickyKey(const HashKeyConfig& key, const SplitInput& input) {
  std::optional<std::string_view> value;
  switch (key.source) {
    case HashKeyConfig::Source::kHeader:
      value = input.headers->find(key.name);
      break;
    case HashKeyConfig::Source::kCookie:
      value = http::findCookie(*input.headers, key.name);
      break;
    case HashKeyConfig::Source::kClientIp:
      value = input.client_ip;
      break;
  }
  // An empty key would put every such user in one bucket: treat it as no key (random split).
  if (value && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string_view> findQueryParameter(std::string_view target, std::string_view name) {
  // A '?' inside the fragment does not start a query.
  const size_t fragment = target.find('#');
  if (fragment != std::string_view::npos) target = target.substr(0, fragment);
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

uint32_t stickyBucket(std::string_view key, uint64_t seed) {
  return static_cast<uint32_t>(core::stableHash(key, seed) % kMillion);
}

bool sampleMirror(const Route& route, const SplitInput& input) {
  if (route.mirror_pool_index < 0 || route.mirror_ppm == 0) return false;
  uint32_t bucket = static_cast<uint32_t>(input.random % kMillion);
  if (route.sticky) {
    // Another seed than the canary split's: who is mirrored does not follow who is in the canary.
    if (auto key = stickyKey(*route.sticky, input)) {
      bucket = stickyBucket(*key, route.split_seed ^ 0x6d6972726f72ULL);
    }
  }
  return bucket < route.mirror_ppm;
}

PoolChoice choosePool(const Route& route, const SplitInput& input) {
  for (const MatchRule& rule : route.rules) {
    if (ruleMatches(rule, input)) return {rule.pool_index, PoolChoice::Reason::kRule};
  }
  if (route.canary_pool_index < 0 || route.canary_ppm == 0) {
    return {route.pool_index, PoolChoice::Reason::kActive};
  }
  uint32_t bucket = static_cast<uint32_t>(input.random % kMillion);
  if (route.sticky) {
    if (auto key = stickyKey(*route.sticky, input)) bucket = stickyBucket(*key, route.split_seed);
  }
  if (bucket < route.canary_ppm) {
    return {static_cast<uint32_t>(route.canary_pool_index), PoolChoice::Reason::kCanary};
  }
  return {route.pool_index, PoolChoice::Reason::kActive};
}

}  // namespace sy::routing
