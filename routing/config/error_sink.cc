#include "routing/config/error_sink.h"

#include <algorithm>
#include <tuple>

namespace sy::routing::config {

void ErrorSink::add(SourcePosition where, std::string key, std::string message) {
  errors_.push_back(
      ConfigError{file_, where.line, where.column, std::move(key), std::move(message)});
}

bool ErrorSink::hasErrorAt(std::string_view key) const {
  for (const ConfigError& error : errors_) {
    const std::string_view other = error.key;
    if (other.substr(0, key.size()) != key) continue;
    if (other.size() == key.size() || other[key.size()] == '.' || other[key.size()] == '[') {
      return true;
    }
  }
  return false;
}

std::vector<ConfigError> ErrorSink::takeSorted() {
  // toml++ keeps table keys sorted by name, so errors are found out of file order.
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return std::move(errors_);
}

}  // namespace sy::routing::config
