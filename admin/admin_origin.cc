#include "admin/admin_origin.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::admin {

std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  // Two colons: an IPv6 literal without brackets (not valid in Host, but not a port either).
  if (colon == std::string_view::npos || host.find(':', colon + 1) != std::string_view::npos) {
    return host;
  }
  return host.substr(0, colon);
}

bool adminHostAllowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (host.empty()) return true;
  const std::string name(hostWithoutPort(host));
  unsigned char address[16];
  if (inet_pton(AF_INET, name.c_str(), address) == 1 ||
      inet_pton(AF_INET6, name.c_str(), address) == 1 ||
      core::equalsIgnoreCase(name, "localhost")) {
    return true;
  }
  for (const std::string& entry : allowed) {
    if (entry == "*" || core::equalsIgnoreCase(entry, name)) return true;
  }
  return false;
}

std::optional<std::string> crossOriginRefusal(const AdminRequest& request) {
  if (request.sec_fetch_site == "cross-site" || request.sec_fetch_site == "same-site") {
    return absl::StrCat("cross-origin request refused (Sec-Fetch-Site: ", request.sec_fetch_site,
                        "): changes are accepted from the console's own origin or from tools "
                        "that are not browsers");
  }
  if (!request.has_origin) return std::nullopt;
  std::string_view origin = request.origin;
  std::string_view authority;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() > scheme.size() &&
        core::equalsIgnoreCase(origin.substr(0, scheme.size()), scheme)) {
      authority = origin.substr(scheme.size());
    }
  }
  if (authority.empty() || request.host.empty() ||
      !core::equalsIgnoreCase(authority, request.host)) {
    return absl::StrCat("cross-origin request refused (Origin: ", request.origin,
                        ", not this admin listener's own origin)");
  }
  return std::nullopt;
}

}  // namespace sy::admin
