#include "absl/strings/str_cat.h"
#include "routing/config/model.h"
#include "routing/config/toml_loader.h"

namespace sy::routing::config {

std::string ConfigError::toString() const {
  // Errors without a position (the file cannot be read) and without a key (TOML syntax) drop
  // those parts rather than print "0:0" or an empty key, so editors still jump to FILE:LINE:COL.
  std::string out = file;
  if (line > 0) absl::StrAppend(&out, ":", line, ":", column);
  absl::StrAppend(&out, ": ");
  if (!key.empty()) absl::StrAppend(&out, key, ": ");
  absl::StrAppend(&out, message);
  return out;
}

std::string formatErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) absl::StrAppend(&out, error.toString(), "\n");
  return out;
}

}  // namespace sy::routing::config
