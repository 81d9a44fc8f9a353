#pragma once

// Environment variable references in configuration values: "${NAME}" in any TOML string value
// is replaced by the value of NAME, so that one file serves every environment (a sidecar gets its
// upstream port, a secret its token, from the pod spec). Expansion works on the parsed values,
// never on the file's text: a variable's value cannot inject TOML, and keys, comments and
// non-string values are never touched.
//
//   "${NAME}"   the value of NAME; NAME is [A-Za-z_][A-Za-z0-9_]*; unset is an error (set but
//               empty is the empty string)
//   "$$"        a literal "$" (so "$${NAME}" is the text "${NAME}")
//   "$" before anything else stays as it is ("^/v1$" needs no escaping)

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "routing/config/error_sink.h"
#include "toml++/toml.h"

namespace sy::routing::config {

// The value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// getenv(3).
std::optional<std::string> processEnvironment(const std::string& name);

// `text` with every reference expanded; the error names the variable when one is unset or a
// reference is malformed.
absl::StatusOr<std::string> expandEnvReferences(std::string_view text, const EnvLookup& lookup);

// Expands every string value of `root`, at any depth (tables, arrays, arrays of tables). A value
// that cannot be expanded is reported under its key (e.g. "pools[0].backends[1]") and later
// errors about that key are dropped.
void expandEnvironment(toml::table& root, ErrorSink& sink, const EnvLookup& lookup);

}  // namespace sy::routing::config
