#include "http/head_rules.h"

#include "core/strings.h"

namespace sy::http {
namespace {

bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view text) {
  while (!text.empty() && isOws(text.front())) text.remove_prefix(1);
  while (!text.empty() && isOws(text.back())) text.remove_suffix(1);
  return text;
}

// Calls `visit` with each member of a comma-separated list, OWS trimmed (empty members too).
template <typename Visit>
void forEachListMember(std::string_view value, Visit visit) {
  for (;;) {
    const size_t comma = value.find(',');
    visit(trimOws(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

bool isRegNameChar(char c) {
  // unreserved / pct-encoded ('%' and hex digits) / sub-delims (RFC 3986 §2.2, §2.3, §3.2.2).
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '%':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

bool isIpLiteralChar(char c) { return isRegNameChar(c) || c == ':'; }

}  // namespace

TransferCodings readTransferCodings(const HeaderBlock& headers) {
  TransferCodings codings;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!core::equalsIgnoreCase(headers.name(i), "transfer-encoding")) continue;
    codings.present = true;
    forEachListMember(headers.value(i), [&](std::string_view member) {
      if (member.empty()) {
        codings.empty_member = true;
      } else if (core::equalsIgnoreCase(member, "chunked")) {
        ++codings.chunked_count;
      }
    });
  }
  return codings;
}

bool connectionListsClose(const HeaderBlock& headers) {
  bool close = false;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!core::equalsIgnoreCase(headers.name(i), "connection")) continue;
    forEachListMember(headers.value(i), [&](std::string_view member) {
      close = close || core::equalsIgnoreCase(member, "close");
    });
  }
  return close;
}

bool isValidHostValue(std::string_view host) {
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t end = host.find(']');
    if (end == std::string_view::npos || end == 1) return false;
    for (char c : host.substr(1, end - 1)) {
      if (!isIpLiteralChar(c)) return false;
    }
    std::string_view rest = host.substr(end + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const size_t colon = host.rfind(':');
    const std::string_view name = host.substr(0, colon);
    for (char c : name) {
      if (!isRegNameChar(c)) return false;
    }
    if (colon != std::string_view::npos) port = host.substr(colon + 1);
  }
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool hasEmptyFieldName(const HeaderBlock& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    if (headers.name(i).empty()) return true;
  }
  return false;
}

}  // namespace sy::http
