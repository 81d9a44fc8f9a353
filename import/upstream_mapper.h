#pragma once

#include "import/import_context.h"
#include "import/nginx_ast.h"

namespace sy::importer {

// `upstream NAME { ... }` -> one [[pools]] element named NAME: servers with their weight,
// max_fails and fail_timeout (passive outlier detection), the balancing method, keepalive.
void mapUpstream(const NginxDirective& upstream, ImportContext& context);

}  // namespace sy::importer
