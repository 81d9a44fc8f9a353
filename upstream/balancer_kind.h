#pragma once

// How a pool picks a backend. Declared here, not in routing/config, because upstream/ sits below
// routing/ in the layering (core -> http -> upstream -> routing -> ...): the config model names
// these types, the balancers implement them.

#include <string>

namespace sy::upstream {

enum class BalancerKind { kRoundRobin, kLeastRequest, kHash };

// What a hash balancer (or a sticky split) hashes.
struct HashKeyConfig {
  enum class Source { kHeader, kCookie, kClientIp };
  Source source = Source::kClientIp;
  std::string name;  // header or cookie name; empty for kClientIp
  std::string text;  // as written: "header:x-user", "cookie:sid", "client_ip"
};

}  // namespace sy::upstream
