#include "routing/config/value_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/ip_address.h"
#include "core/net_address.h"
#include "core/strings.h"
#include "http/path_normalizer.h"
#include "routing/config/quoted.h"

namespace sy::routing::config {
namespace {

bool isNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// RFC 9110 token characters: header field names and cookie names are tokens.
bool isTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

absl::Status invalid(std::string_view expected, std::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("expected ", core::toAbsl(expected), ", got ", inQuotes(got)));
}

}  // namespace

absl::StatusOr<std::string> checkName(std::string_view text) {
  bool ok = !text.empty();
  for (const char c : text) ok = ok && isNameChar(c);
  if (!ok) return invalid("a name made of letters, digits, '_', '.' and '-'", text);
  return std::string(text);
}

absl::StatusOr<std::string> normalizeHostPattern(std::string_view text) {
  constexpr std::string_view kExpected =
      "a host such as \"example.com\", \"*.example.com\" or \"*\"";
  if (text.empty()) return invalid(kExpected, text);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isspace(byte) || absl::ascii_iscntrl(byte)) {
      return absl::InvalidArgumentError(
          absl::StrCat(inQuotes(text), " contains whitespace or a control character"));
    }
    if (c == ':') {
      // Routing compares the Host header without its port, so a pattern with one never matches.
      return absl::InvalidArgumentError(
          absl::StrCat(inQuotes(text),
                       " contains a port or ':': host patterns match the host without its port"));
    }
    if (c == '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(inQuotes(text), " contains '/': put paths in path_prefix"));
    }
  }
  const size_t star = text.find('*');
  if (star != std::string_view::npos && text != "*") {
    const std::string_view suffix = text.substr(1);
    const bool wildcard = star == 0 && suffix.size() > 1 && suffix.front() == '.' &&
                          suffix.find('*') == std::string_view::npos;
    if (!wildcard) {
      return absl::InvalidArgumentError(absl::StrCat(
          inQuotes(text),
          " has '*' in the wrong place: it may only be the whole pattern (\"*\") or the first "
          "label (\"*.example.com\")"));
    }
  }
  return absl::AsciiStrToLower(core::toAbsl(text));
}

absl::StatusOr<std::string> checkPathPrefix(std::string_view text) {
  if (text.empty() || text.front() != '/') return invalid("a path starting with \"/\"", text);
  return std::string(text);
}

absl::StatusOr<std::string> checkRoutePathPrefix(std::string_view text) {
  absl::StatusOr<std::string> path = checkPathPrefix(text);
  if (!path.ok()) return path;
  // Requests are matched in normal form (http/path_normalizer.h): a prefix in another form, such
  // as "/a/../b" or "/%61pi/", would never match. Slashes are left alone: whether "//" merges is
  // a listener setting, and a prefix may be meant for listeners that keep them.
  const http::NormalizedPath normal =
      http::normalizeRequestPath(text, {.merge_slashes = false, .allow_encoded_slash = true});
  if (normal.outcome == http::NormalizedPath::Outcome::kInvalid) {
    return invalid(absl::StrCat("a path prefix (", core::toAbsl(normal.error), ")"), text);
  }
  if (normal.outcome != http::NormalizedPath::Outcome::kUnchanged) {
    return invalid(absl::StrCat("a path prefix in normal form, such as ", inQuotes(normal.target)),
                   text);
  }
  if (text.find_first_of("?#") != std::string_view::npos) {
    return invalid("a path prefix without '?' or '#' (the query is not part of the path)", text);
  }
  return path;
}

absl::StatusOr<std::string> checkEnvName(std::string_view text) {
  bool ok = text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(text.front()));
  for (const char c : text) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) return invalid("an environment variable name made of letters, digits and '_'", text);
  return std::string(text);
}

absl::StatusOr<std::string> normalizeDnsServer(std::string_view text) {
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(text, false);
  if (!address.ok()) {
    // Without a port: the DNS port. An IPv6 literal without a port has no brackets.
    const bool v6 = text.find(':') != std::string_view::npos;
    address = core::NetAddress::parse(
        absl::StrCat(v6 ? "[" : "", core::toAbsl(text), v6 ? "]" : "", ":53"), false);
  }
  if (!address.ok() || address->port() == 0) {
    return invalid("a name server's IP address, with a port or not (\"127.0.0.1:53\")", text);
  }
  return address->toString();
}

absl::StatusOr<std::string> checkDnsName(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 253 && text.front() != '.' && text.front() != '-';
  for (const char c : text) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) return invalid("a DNS name such as \"api.internal\"", text);
  return std::string(text);
}

absl::StatusOr<std::string> checkMethod(std::string_view text) {
  bool ok = !text.empty();
  for (const char c : text) ok = ok && c >= 'A' && c <= 'Z';
  if (!ok) return invalid("an HTTP method in upper case, such as \"GET\" or \"HEAD\"", text);
  return std::string(text);
}

absl::StatusOr<std::pair<int, int>> parseStatusRange(std::string_view text) {
  const size_t dash = text.find('-');
  int low = 0;
  int high = 0;
  const bool parsed = dash == std::string_view::npos
                          ? absl::SimpleAtoi(core::toAbsl(text), &low) && (high = low, true)
                          : absl::SimpleAtoi(core::toAbsl(text.substr(0, dash)), &low) &&
                                absl::SimpleAtoi(core::toAbsl(text.substr(dash + 1)), &high);
  if (!parsed || low < 100 || high > 599 || low > high) {
    return invalid("a status (\"204\") or an inclusive range (\"200-399\") within 100-599", text);
  }
  return std::make_pair(low, high);
}

absl::StatusOr<std::string> checkLogPath(std::string_view text) {
  if (text.empty()) return invalid("\"-\" (standard output) or a file path", text);
  return std::string(text);
}

absl::StatusOr<std::string> normalizeCidr(std::string_view text) {
  absl::StatusOr<core::IpPrefix> prefix = core::IpPrefix::parse(text);
  if (!prefix.ok()) return prefix.status();
  return prefix->toString();
}

absl::StatusOr<std::string> checkHeaderName(std::string_view text) {
  if (!isToken(text))
    return invalid("a header name made of letters, digits and !#$%&'*+-.^_`|~", text);
  return std::string(text);
}

absl::StatusOr<std::string> normalizeSniPattern(std::string_view text) {
  constexpr std::string_view kExpected =
      "a DNS name such as \"api.example.com\" or \"*.example.com\" (letters, digits, '-' and "
      "'.'; '*' only as the whole first label)";
  std::string_view name = text;
  if (name.size() > 2 && name.substr(0, 2) == "*.") name.remove_prefix(2);
  bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' && name.back() != '.';
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    ok = ok && (absl::ascii_isalnum(byte) || c == '-' || c == '.');
  }
  ok = ok && name.find("..") == std::string_view::npos;
  if (!ok) return invalid(kExpected, text);
  return absl::AsciiStrToLower(core::toAbsl(text));
}

absl::StatusOr<std::string> checkHostSuffix(std::string_view text) {
  for (const char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return invalid("a host name suffix of letters, digits, '-' and '.' (e.g. \"-shadow\")", text);
    }
  }
  return std::string(text);
}

absl::StatusOr<HashKeyConfig> parseHashKey(std::string_view text) {
  HashKeyConfig out;
  out.text = std::string(text);
  if (text == "client_ip") {
    out.source = HashKeyConfig::Source::kClientIp;
    return out;
  }
  const size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view name =
      colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (colon != std::string_view::npos && (kind == "header" || kind == "cookie")) {
    if (!isToken(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(inQuotes(text), ": expected a ", core::toAbsl(kind), " name after \"",
                       core::toAbsl(kind), ":\" made of letters, digits and !#$%&'*+-.^_`|~"));
    }
    if (kind == "header") {
      out.source = HashKeyConfig::Source::kHeader;
      // Header names are case-insensitive; storing them lower-case lets lookups compare bytes.
      out.name = absl::AsciiStrToLower(core::toAbsl(name));
    } else {
      out.source = HashKeyConfig::Source::kCookie;
      out.name = std::string(name);  // cookie names are case-sensitive
    }
    return out;
  }
  return invalid("\"header:NAME\", \"cookie:NAME\" or \"client_ip\"", text);
}

}  // namespace sy::routing::config

namespace sy::routing::config {

absl::StatusOr<uint64_t> parseByteSize(std::string_view text) {
  constexpr std::string_view kExpected =
      "a size such as \"1MiB\", \"512KiB\", \"10MB\", \"64k\" or a number of bytes";
  size_t digits = 0;
  uint64_t number = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (number > (uint64_t{1} << 40)) return invalid(kExpected, text);
    number = number * 10 + static_cast<uint64_t>(text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return invalid(kExpected, text);
  const std::string_view unit = text.substr(digits);
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"kB", 1000},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"k", uint64_t{1} << 10},
      {"K", uint64_t{1} << 10},
      {"m", uint64_t{1} << 20},
      {"M", uint64_t{1} << 20},
      {"g", uint64_t{1} << 30},
      {"G", uint64_t{1} << 30},
  };
  for (const Unit& candidate : kUnits) {
    if (candidate.name != unit) continue;
    constexpr uint64_t kMax = uint64_t{1} << 40;
    if (number > kMax / candidate.factor) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a size of at most 1TiB, got ", inQuotes(text)));
    }
    return number * candidate.factor;
  }
  return invalid(kExpected, text);
}

absl::StatusOr<std::string> checkRequestIdHeader(std::string_view text) {
  if (text.empty()) return std::string();
  if (!checkHeaderName(text).ok()) {
    return invalid("a header name such as \"X-Request-ID\", or \"\" for none", text);
  }
  for (std::string_view reserved :
       {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "keep-alive",
        "trailer", "proxy-connection", "expect", "traceparent"}) {
    if (core::equalsIgnoreCase(text, reserved)) {
      return invalid("a header name other than a framing, hop-by-hop or tracing one", text);
    }
  }
  return std::string(text);
}

bool acceptableRequestId(std::string_view value) {
  if (value.empty() || value.size() > 200) return false;
  for (const char c : value) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace sy::routing::config
