#pragma once

// Reads an nginx configuration file and splices every `include` into the tree, in any context,
// the way nginx does: a relative pattern is taken from the configuration prefix (the directory
// of the main file, or -p PREFIX), a pattern with wildcards may match nothing, a plain name must
// exist, and matches are read in sorted order.

#include <optional>
#include <string>
#include <vector>

#include "import/nginx_ast.h"

namespace sy::importer {

struct LoadedNginxConfig {
  std::vector<NginxDirective> directives;  // the main context, includes expanded
  std::vector<std::string> files;          // every file read, the main file first
  std::optional<NginxSyntaxError> error;
};

// `prefix` empty: the directory of `main_file`.
LoadedNginxConfig loadNginxConfig(const std::string& main_file, const std::string& prefix);

}  // namespace sy::importer
