#include "import/proxy_pass_target.h"

#include "import/nginx_values.h"

namespace sy::importer {

std::optional<ProxyPassTarget> parseProxyPass(std::string_view url) {
  ProxyPassTarget target;
  if (url.substr(0, 7) == "http://") {
    url.remove_prefix(7);
  } else if (url.substr(0, 8) == "https://") {
    target.https = true;
    url.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  if (!url.empty() && url[0] == '$') {
    target.variable = firstVariable(url);
    if (target.variable.empty()) return std::nullopt;
    const size_t end = url.find(target.variable) + target.variable.size() +
                       (url.size() > 1 && url[1] == '{' ? 1 : 0);
    target.host = std::string(url.substr(0, end));
    target.uri = std::string(url.substr(end));
    return target;
  }
  const size_t end = url.find_first_of("/$");
  target.host = std::string(url.substr(0, end));
  if (end != std::string_view::npos) target.uri = std::string(url.substr(end));
  if (target.host.empty()) return std::nullopt;
  return target;
}

bool proxyPassKeepsPath(const ProxyPassTarget& target, std::string_view location_prefix) {
  return target.uri.empty() || target.uri == "$request_uri" || target.uri == location_prefix;
}

}  // namespace sy::importer
