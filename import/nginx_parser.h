#pragma once

// Builds the directive tree of one nginx configuration file from its tokens. `include` is left
// as an ordinary directive here; nginx_include.h expands it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/nginx_ast.h"

namespace sy::importer {

struct ParseResult {
  std::vector<NginxDirective> directives;  // the main context
  std::optional<NginxSyntaxError> error;   // the first syntax error; directives is then empty
};

ParseResult parseNginxText(std::string_view text, const std::string& file);

}  // namespace sy::importer
