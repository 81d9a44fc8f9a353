#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routing/config/model.h"

namespace sy::routing::config {

// Collects the problems found in one configuration file. Readers report and carry on, so that one
// `--check` run shows the operator everything that is wrong.
class ErrorSink {
 public:
  explicit ErrorSink(std::string file) : file_(std::move(file)) {}

  void add(SourcePosition where, std::string key, std::string message);
  // Like add(), and later errors for `key` or anything below it are dropped: they would only
  // describe the consequence (an unset ${VAR} left "${VAR}" where an address was expected).
  void addFinal(SourcePosition where, std::string key, std::string message);

  bool empty() const { return errors_.empty(); }
  // True when an error was reported for `key` itself or for anything below it ("pools[0]" covers
  // "pools[0].name"). Checks that combine several keys use it to stay quiet when one of their
  // inputs was already reported, instead of piling a second, misleading error on top.
  bool hasErrorAt(std::string_view key) const;

  // The errors in file order (line, then column); errors at the same place keep their order.
  std::vector<ConfigError> takeSorted();

 private:
  static bool covers(std::string_view parent, std::string_view key);

  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<std::string> final_keys_;
};

}  // namespace sy::routing::config
