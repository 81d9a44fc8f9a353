#include "http/https_redirect.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::http {
namespace {

bool allDigits(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A DNS name or IPv4 address: letters, digits, '-', '.', '_' (RFC 3986 reg-name, narrowed to
// what a name can be).
bool isHostName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_isalnum(u) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// "[...]" with hex digits, ':' and '.' inside (IPv6, possibly IPv4-mapped).
bool isIpLiteral(std::string_view literal) {
  if (literal.size() < 4 || literal.front() != '[' || literal.back() != ']') return false;
  for (char c : literal.substr(1, literal.size() - 2)) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_isxdigit(u) && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> httpsLocation(std::string_view host, std::string_view target,
                                         uint16_t https_port) {
  std::string_view name = host;
  if (!name.empty() && name.front() == '[') {
    const size_t close = name.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !allDigits(rest.substr(1)))) return std::nullopt;
    name = name.substr(0, close + 1);
    if (!isIpLiteral(name)) return std::nullopt;
  } else {
    const size_t colon = name.rfind(':');
    if (colon != std::string_view::npos) {
      if (!allDigits(name.substr(colon + 1))) return std::nullopt;
      name = name.substr(0, colon);
    }
    if (!isHostName(name)) return std::nullopt;
  }
  if (target.empty() || target == "*") target = "/";
  if (target.front() != '/') return std::nullopt;
  std::string location = absl::StrCat("https://", core::toAbsl(name));
  if (https_port != 443) absl::StrAppend(&location, ":", https_port);
  absl::StrAppend(&location, core::toAbsl(target));
  return location;
}

}  // namespace sy::http
