#include "routing/config/error_sink.h"

#include <algorithm>
#include <tuple>

namespace sy::routing::config {

bool ErrorSink::covers(std::string_view parent, std::string_view key) {
  if (key.substr(0, parent.size()) != parent) return false;
  return key.size() == parent.size() || key[parent.size()] == '.' || key[parent.size()] == '[';
}

void ErrorSink::add(SourcePosition where, std::string key, std::string message) {
  for (const std::string& settled : final_keys_) {
    if (covers(settled, key)) return;
  }
  errors_.push_back(
      ConfigError{file_, where.line, where.column, std::move(key), std::move(message)});
}

void ErrorSink::addFinal(SourcePosition where, std::string key, std::string message) {
  add(where, key, std::move(message));
  final_keys_.push_back(std::move(key));
}

bool ErrorSink::hasErrorAt(std::string_view key) const {
  for (const ConfigError& error : errors_) {
    if (covers(key, error.key)) return true;
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
