#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/client_limit_settings.h"
#include "routing/config/model.h"
#include "routing/route_shaping.h"
#include "routing/route_stats.h"

namespace sy::routing {

// One entry of a route's `hosts` list, lower-cased at build time.
struct HostMatcher {
  enum class Kind { kAny, kExact, kSuffix };
  Kind kind = Kind::kAny;
  std::string text;  // kExact: "example.com"; kSuffix: ".example.com" (from "*.example.com")

  bool matches(std::string_view host) const;
  static HostMatcher parse(std::string_view pattern);
};

// One entry of a route's `sni` list, lower-cased at build time: an exact name, or "*.example.com"
// for exactly one label more ("a.example.com", not "a.b.example.com" nor "example.com"), as a
// wildcard certificate covers (RFC 6125 §6.4.3).
struct SniMatcher {
  bool wildcard = false;
  std::string text;  // exact: "api.example.com"; wildcard: ".example.com"

  // `name`: the SNI name the client sent (case-insensitive; a trailing dot is ignored).
  bool matches(std::string_view name) const;
  static SniMatcher parse(std::string_view pattern);
};

// A rule resolved against the snapshot's pools.
struct MatchRule {
  config::MatchRuleConfig::Source source = config::MatchRuleConfig::Source::kHeader;
  config::MatchRuleConfig::Op op = config::MatchRuleConfig::Op::kEquals;
  std::string name;
  std::string value;
  uint32_t pool_index = 0;
};

inline constexpr uint32_t kMillion = 1000000;

// Where a request's id travels (request_id, request_id_mode); an empty header means none.
struct RequestIdSettings {
  std::string header;        // as configured ("X-Request-ID"), for the heads we write
  std::string header_lower;  // for looking it up in the client's head
  bool always = false;       // replace the client's id
};

struct Route {
  std::string name;
  std::vector<HostMatcher> hosts;  // empty: any host
  // Non-empty: only requests on a TLS connection whose SNI name matches one of these.
  std::vector<SniMatcher> sni;
  std::string path_prefix = "/";
  uint32_t pool_index = 0;  // the active pool, an index into ConfigSnapshot::pools
  uint32_t retries = 2;
  std::vector<MatchRule> rules;    // evaluated in order before the canary split
  int32_t canary_pool_index = -1;  // -1: no canary
  uint32_t canary_ppm = 0;         // share of the canary, in parts per million
  std::optional<config::HashKeyConfig> sticky;
  uint64_t split_seed = 0;  // makes each route's sticky split independent of the others
  std::string pool_header;  // "X-Switchyard-Pool" style header; empty: none
  // Figures per pool this route may send to, indexed like ConfigSnapshot::pools.
  std::vector<std::shared_ptr<RoutePoolStats>> stats_by_pool;
  // Mirroring: a copy of mirror_ppm per million requests goes to the mirror pool.
  int32_t mirror_pool_index = -1;  // -1: no mirroring
  uint32_t mirror_ppm = 0;
  std::shared_ptr<const config::MirrorConfig> mirror;  // settings; set when mirroring
  // Per pool (indexed like stats_by_pool), null for a pool this route never mirrored to: kept
  // while route and pool exist, so counters survive stopping and restarting a mirror. The
  // current mirror's are at mirror_pool_index.
  std::vector<std::shared_ptr<MirrorStats>> mirror_stats_by_pool;
  // Replaces the listener's rate limit for this route (rate 0: the route is exempt).
  std::optional<RateLimit> rate_limit;
  // Headers, path, or the route's own answer; null: forwarded as received (most routes).
  std::shared_ptr<const RouteShaping> shaping;
  // Replace the listener's when set (max_body 0: no limit).
  std::optional<uint64_t> max_body_bytes;
  // Each replaces the listener's part when set (a header of "" turns the request id off).
  std::optional<RequestIdSettings> request_id_header;  // `always` unused here
  std::optional<bool> request_id_always;

  bool matchesHost(std::string_view host) const;
  // `sni`: the connection's SNI name ("" when the client sent none), nullopt on plain HTTP.
  bool matchesSni(std::optional<std::string_view> sni) const;
};

// The request's host without port and trailing dot ("Example.com:8080" -> "Example.com"); case
// is left alone, matching ignores it.
std::string_view normalizeHost(std::string_view host_header);
// The path of a request target: origin-form "/a/b?x" -> "/a/b"; absolute-form
// "http://h/a?x" -> "/a"; "*" -> "/".
std::string_view requestPath(std::string_view target);

// Routes in configuration order; the first whose host and path prefix match wins (as in Envoy
// and HAProxy: put specific routes first). Immutable once built.
class RouteTable {
 public:
  RouteTable() = default;
  explicit RouteTable(std::vector<Route> routes);

  // `host`: the Host header as received (may be empty); `target`: the request target; `sni`:
  // the SNI name of a TLS connection ("" without one), nullopt for plain HTTP.
  const Route* match(std::string_view host, std::string_view target,
                     std::optional<std::string_view> sni = std::nullopt) const;
  // Some route has `sni`: only then does a request need its connection's SNI name.
  bool usesSni() const { return uses_sni_; }
  const Route* find(std::string_view name) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  bool uses_sni_ = false;
};

}  // namespace sy::routing
