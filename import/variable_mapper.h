#pragma once

// `split_clients` and `map` blocks whose variable a `proxy_pass http://$name` uses: recorded
// as a canary split (split_clients) or as routing rules (map on $http_NAME, $cookie_NAME or
// $arg_NAME) for the routes that proxy to the variable. Pools in them are still nginx host
// names here; server_mapper resolves them.

#include "import/import_context.h"
#include "import/nginx_ast.h"

namespace sy::importer {

void mapSplitClients(const NginxDirective& split, ImportContext& context);
void mapMap(const NginxDirective& map, ImportContext& context);

}  // namespace sy::importer
