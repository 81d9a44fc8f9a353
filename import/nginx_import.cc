#include "import/nginx_import.h"

#include "import/directive_catalog.h"
#include "import/import_context.h"
#include "import/nginx_include.h"
#include "import/proxy_settings.h"
#include "import/server_mapper.h"
#include "import/toml_emitter.h"
#include "import/upstream_mapper.h"
#include "import/variable_mapper.h"

namespace sy::importer {
namespace {

bool isTableDirective(const std::string& name) {
  return name == "upstream" || name == "map" || name == "split_clients" || name == "log_format";
}

// The http context: tables first (servers refer to them wherever they are written), then the
// settings every server inherits, then the servers.
void mapHttp(const std::vector<NginxDirective>& block, ImportContext& context) {
  for (const NginxDirective& directive : block) {
    if (directive.name == "log_format" && !directive.args.empty()) {
      bool json = false;
      for (const NginxArg& arg : directive.args) json = json || arg.text == "escape=json";
      context.log_format_is_json[directive.args[0].text] = json;
    } else if (directive.name == "upstream") {
      mapUpstream(directive, context);
    } else if (directive.name == "split_clients") {
      mapSplitClients(directive, context);
    } else if (directive.name == "map") {
      mapMap(directive, context);
    }
  }
  ProxySettings settings;
  std::vector<const NginxDirective*> servers;
  for (const NginxDirective& directive : block) {
    if (directive.name == "server") {
      servers.push_back(&directive);
    } else if (!isTableDirective(directive.name) &&
               !readProxySetting(directive, Level::kHttp, settings, context)) {
      warnUnknownDirective(directive, context.warnings);
    }
  }
  mapServers(servers, settings, context);
}

}  // namespace

NginxImportResult importNginx(const std::string& path, const std::string& prefix) {
  NginxImportResult result;
  LoadedNginxConfig loaded = loadNginxConfig(path, prefix);
  if (loaded.error) {
    result.error = loaded.error->format();
    return result;
  }
  ImportContext context;
  context.config.source = path;
  bool has_http = false;
  for (const NginxDirective& directive : loaded.directives) has_http |= directive.name == "http";
  if (!has_http) {
    // A file of the http context on its own (a conf.d/*.conf file): read it as one.
    mapHttp(loaded.directives, context);
  } else {
    for (const NginxDirective& directive : loaded.directives) {
      if (directive.name == "http") {
        mapHttp(directive.block, context);
      } else if (directive.name == "stream" || directive.name == "mail") {
        context.warnings.unsupported(directive, "Switchyard proxies HTTP only");
      } else {
        warnUnknownDirective(directive, context.warnings);
      }
    }
  }
  result.warnings = context.warnings.all();
  result.warnings_text = context.warnings.format();
  if (context.config.routes.empty()) {
    result.error = path + ": nothing to import: no location proxies to a backend (proxy_pass)";
    return result;
  }
  result.toml = emitToml(context.config, result.warnings.size());
  result.status = result.warnings.empty() ? kImportClean : kImportWithWarnings;
  return result;
}

}  // namespace sy::importer
