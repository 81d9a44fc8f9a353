#include "import/nginx_values.h"

#include <cctype>

namespace sy::importer {
namespace {

bool allDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool isVariableChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::optional<int64_t> parseNginxTime(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    int64_t value = 0;
    const size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > (int64_t{1} << 40)) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    int64_t unit_ms = 1000;  // no unit: seconds
    if (i < text.size() && text[i] != ' ') {
      if (text.substr(i, 2) == "ms") {
        unit_ms = 1;
        i += 2;
      } else {
        switch (text[i]) {
          case 's':
            unit_ms = 1000;
            break;
          case 'm':
            unit_ms = 60 * 1000;
            break;
          case 'h':
            unit_ms = 3600 * 1000;
            break;
          case 'd':
            unit_ms = int64_t{86400} * 1000;
            break;
          case 'w':
            unit_ms = int64_t{7} * 86400 * 1000;
            break;
          case 'M':
            unit_ms = int64_t{30} * 86400 * 1000;
            break;
          case 'y':
            unit_ms = int64_t{365} * 86400 * 1000;
            break;
          default:
            return std::nullopt;
        }
        ++i;
      }
    } else if (start != 0) {
      return std::nullopt;  // "1m 30": only the whole value may omit the unit
    }
    total += value * unit_ms;
  }
  return total;
}

std::string switchyardDuration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms % (3600 * 1000) == 0) return std::to_string(ms / (3600 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<uint64_t> parseNginxSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t multiplier = 1;
  const char last = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  if (last == 'k' || last == 'm' || last == 'g') {
    multiplier = last == 'k' ? 1024 : last == 'm' ? 1024 * 1024 : 1024 * 1024 * 1024;
    text.remove_suffix(1);
  }
  if (!allDigits(text) || text.size() > 12) return std::nullopt;
  return std::stoull(std::string(text)) * multiplier;
}

std::optional<std::string> listenAddress(std::string_view text) {
  if (text.substr(0, 5) == "unix:") return std::nullopt;
  if (allDigits(text)) return "0.0.0.0:" + std::string(text);
  std::string host;
  std::string port = "80";
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, close + 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = std::string(text.substr(close + 2));
    }
  } else {
    const size_t colon = text.rfind(':');
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(text.substr(colon + 1));
  }
  if (!allDigits(port)) return std::nullopt;
  if (host == "*" || host.empty()) host = "0.0.0.0";
  return host + ":" + port;
}

std::optional<std::string> backendAddress(std::string_view text, int default_port) {
  if (text.substr(0, 5) == "unix:" || text.empty()) return std::nullopt;
  if (text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (close + 1 == text.size()) return std::string(text) + ":" + std::to_string(default_port);
    if (text[close + 1] != ':' || !allDigits(text.substr(close + 2))) return std::nullopt;
    return std::string(text);
  }
  const size_t colon = text.find(':');
  // A host name or IPv4 address: nothing else (variables, paths) makes an address.
  for (char c : text.substr(0, colon)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return std::nullopt;
    }
  }
  if (colon == std::string_view::npos) {
    return std::string(text) + ":" + std::to_string(default_port);
  }
  if (text.find(':', colon + 1) != std::string_view::npos) return std::nullopt;  // bare IPv6
  if (!allDigits(text.substr(colon + 1))) return std::nullopt;
  return std::string(text);
}

std::string switchyardName(std::string_view text) {
  std::string name;
  for (char c : text) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    name += ok ? c : '-';
  }
  return name.empty() ? "unnamed" : name;
}

std::optional<std::string> requestKeyOfVariable(std::string_view variable) {
  if (variable == "remote_addr" || variable == "binary_remote_addr") return "client_ip";
  if (variable.substr(0, 7) == "cookie_" && variable.size() > 7) {
    return "cookie:" + std::string(variable.substr(7));
  }
  if (variable.substr(0, 5) == "http_" && variable.size() > 5) {
    std::string header(variable.substr(5));
    for (char& c : header) c = c == '_' ? '-' : c;  // nginx: $http_x_user_id is X-User-Id
    return "header:" + header;
  }
  return std::nullopt;
}

std::string firstVariable(std::string_view text) {
  const size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return "";
  size_t i = dollar + 1;
  if (i < text.size() && text[i] == '{') {
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) return "";
    return std::string(text.substr(i + 1, close - i - 1));
  }
  const size_t start = i;
  while (i < text.size() && isVariableChar(text[i])) ++i;
  return std::string(text.substr(start, i - start));
}

std::string asciiLower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace sy::importer
