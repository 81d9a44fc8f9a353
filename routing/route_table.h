#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::routing {

// One entry of a route's `hosts` list, lower-cased at build time.
struct HostMatcher {
  enum class Kind { kAny, kExact, kSuffix };
  Kind kind = Kind::kAny;
  std::string text;  // kExact: "example.com"; kSuffix: ".example.com" (from "*.example.com")

  bool matches(std::string_view host) const;
  static HostMatcher parse(std::string_view pattern);
};

struct Route {
  std::string name;
  std::vector<HostMatcher> hosts;  // empty: any host
  std::string path_prefix = "/";
  uint32_t pool_index = 0;  // the active pool, an index into ConfigSnapshot::pools
  uint32_t retries = 2;

  bool matchesHost(std::string_view host) const;
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
  explicit RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {}

  // `host`: the Host header as received (may be empty); `target`: the request target.
  const Route* match(std::string_view host, std::string_view target) const;
  const Route* find(std::string_view name) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace sy::routing
