#pragma once

// The parts of a `proxy_pass` URL: http://HOST[:PORT][URI], HOST possibly a $variable.

#include <optional>
#include <string>
#include <string_view>

namespace sy::importer {

struct ProxyPassTarget {
  bool https = false;
  std::string host;      // "backend", "127.0.0.1:8081", "$pool"
  std::string variable;  // set when host is a variable (without '$')
  std::string uri;       // "" when none; "$request_uri" and the like kept as written
};

std::optional<ProxyPassTarget> parseProxyPass(std::string_view url);

// Whether passing `uri` from a location `location_prefix` leaves the request path unchanged:
// no URI, $request_uri, or the location's own prefix.
bool proxyPassKeepsPath(const ProxyPassTarget& target, std::string_view location_prefix);

}  // namespace sy::importer
