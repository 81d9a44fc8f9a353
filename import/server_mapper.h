#pragma once

// The `server` blocks of the http context -> [[listeners]] (from `listen`) and [[routes]] (one
// per `location` with a proxy_pass, hosts from `server_name`), in an order that gives
// Switchyard's first-match routing nginx's choice: named servers before the default server,
// exact locations first, longer prefixes before shorter ones.

#include <vector>

#include "import/import_context.h"
#include "import/nginx_ast.h"
#include "import/proxy_settings.h"

namespace sy::importer {

void mapServers(const std::vector<const NginxDirective*>& servers, const ProxySettings& http,
                ImportContext& context);

}  // namespace sy::importer
