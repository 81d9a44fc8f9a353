#pragma once

// What to say about an nginx directive no mapper claimed: "ignored" for the ones that have no
// meaning for Switchyard (process, file-serving and buffering settings), "unsupported" for the
// rest.

#include "import/import_warnings.h"
#include "import/nginx_ast.h"

namespace sy::importer {

void warnUnknownDirective(const NginxDirective& directive, Warnings& warnings);

}  // namespace sy::importer
