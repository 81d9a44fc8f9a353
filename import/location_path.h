#pragma once

// The path part of `location [=|^~|~|~*] PATH`, as a Switchyard path_prefix where it maps.

#include <optional>
#include <string>

#include "import/import_warnings.h"
#include "import/nginx_ast.h"

namespace sy::importer {

struct LocationPath {
  enum class Kind { kExact, kRegex, kPrefix };  // also the order routes are emitted in
  Kind kind = Kind::kPrefix;
  std::string prefix;  // a path_prefix
  std::string as_written;
};

// nullopt (with a warning) for named locations and regular expressions that are not a plain
// `^/literal` prefix.
std::optional<LocationPath> mapLocationPath(const NginxDirective& location, Warnings& warnings);

}  // namespace sy::importer
