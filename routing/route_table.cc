#include "routing/route_table.h"

#include "core/strings.h"

namespace sy::routing {
namespace {

bool endsWithIgnoreCase(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         core::equalsIgnoreCase(text.substr(text.size() - suffix.size()), suffix);
}

}  // namespace

HostMatcher HostMatcher::parse(std::string_view pattern) {
  HostMatcher matcher;
  if (pattern == "*") return matcher;
  std::string lower(pattern);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower.size() > 2 && lower[0] == '*' && lower[1] == '.') {
    matcher.kind = Kind::kSuffix;
    matcher.text = lower.substr(1);
  } else {
    matcher.kind = Kind::kExact;
    matcher.text = std::move(lower);
  }
  return matcher;
}

bool HostMatcher::matches(std::string_view host) const {
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kExact:
      return core::equalsIgnoreCase(host, text);
    case Kind::kSuffix:
      // "*.example.com" matches "a.example.com" but not "example.com".
      return host.size() > text.size() && endsWithIgnoreCase(host, text);
  }
  return false;
}

SniMatcher SniMatcher::parse(std::string_view pattern) {
  SniMatcher matcher;
  std::string lower(pattern);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower.size() > 2 && lower[0] == '*' && lower[1] == '.') {
    matcher.wildcard = true;
    matcher.text = lower.substr(1);
  } else {
    matcher.text = std::move(lower);
  }
  return matcher;
}

bool SniMatcher::matches(std::string_view name) const {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (!wildcard) return core::equalsIgnoreCase(name, text);
  if (name.size() <= text.size() || !endsWithIgnoreCase(name, text)) return false;
  // One label: nothing before the suffix may contain a dot.
  return name.substr(0, name.size() - text.size()).find('.') == std::string_view::npos;
}

bool Route::matchesSni(std::optional<std::string_view> server_name) const {
  if (sni.empty()) return true;
  if (!server_name.has_value() || server_name->empty()) return false;
  for (const SniMatcher& matcher : sni) {
    if (matcher.matches(*server_name)) return true;
  }
  return false;
}

bool Route::matchesHost(std::string_view host) const {
  if (hosts.empty()) return true;
  for (const HostMatcher& matcher : hosts) {
    if (matcher.matches(host)) return true;
  }
  return false;
}

std::string_view normalizeHost(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // "[::1]:8080"
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::string_view requestPath(std::string_view target) {
  if (target.empty() || target == "*") return "/";
  if (target.front() != '/') {
    // absolute-form: scheme://authority/path
    const size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return target;
    const size_t path_start = target.find('/', scheme_end + 3);
    if (path_start == std::string_view::npos) return "/";
    target = target.substr(path_start);
  }
  const size_t query = target.find_first_of("?#");
  return query == std::string_view::npos ? target : target.substr(0, query);
}

RouteTable::RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {
  for (const Route& route : routes_) uses_sni_ = uses_sni_ || !route.sni.empty();
}

const Route* RouteTable::match(std::string_view host, std::string_view target,
                               std::optional<std::string_view> sni) const {
  const std::string_view normalized = normalizeHost(host);
  const std::string_view path = requestPath(target);
  for (const Route& route : routes_) {
    if (path.substr(0, route.path_prefix.size()) != route.path_prefix) continue;
    if (route.matchesHost(normalized) && route.matchesSni(sni)) return &route;
  }
  return nullptr;
}

const Route* RouteTable::find(std::string_view name) const {
  for (const Route& route : routes_) {
    if (route.name == name) return &route;
  }
  return nullptr;
}

}  // namespace sy::routing
