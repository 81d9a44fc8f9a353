#include "import/proxy_settings.h"

#include <algorithm>
#include <cctype>

#include "import/nginx_values.h"

namespace sy::importer {
namespace {

bool readTime(const NginxDirective& directive, std::optional<int64_t>& out, Warnings& warnings) {
  const std::optional<int64_t> ms =
      directive.args.size() == 1 ? parseNginxTime(directive.args[0].text) : std::nullopt;
  if (!ms) {
    warnings.unsupported(directive, "not an nginx time; left out");
    return true;
  }
  out = *ms;
  return true;
}

// proxy_set_header lines whose effect Switchyard already has: it keeps the client's Host,
// appends the client to X-Forwarded-For, sets X-Forwarded-Proto and X-Real-IP, and passes
// WebSocket upgrades and keep-alive on its own.
bool forwardingHeaderIsBuiltIn(const std::string& name, const std::string& value) {
  const std::string header = asciiLower(name);
  if (header == "host") return value == "$host" || value == "$http_host";
  if (header == "x-real-ip") return value == "$remote_addr";
  if (header == "x-forwarded-for") return value == "$proxy_add_x_forwarded_for";
  if (header == "x-forwarded-proto") return value == "$scheme";
  if (header == "upgrade") return value == "$http_upgrade";
  if (header == "connection") {
    return value == "upgrade" || value == "Upgrade" || value == "$connection_upgrade" ||
           value.empty() || value == "keep-alive";
  }
  return false;
}

void readNextUpstream(const NginxDirective& directive, ProxySettings& settings,
                      Warnings& warnings) {
  settings.next_upstream_seen = true;
  settings.next_upstream_off = false;
  std::vector<std::string> dropped;
  bool timeout = false;
  for (const NginxArg& arg : directive.args) {
    if (arg.text == "off") {
      settings.next_upstream_off = true;
    } else if (arg.text == "timeout") {
      timeout = true;
    } else if (arg.text != "error") {
      dropped.push_back(arg.text);
    }
  }
  if (settings.next_upstream_off) return;
  std::string reason;
  if (timeout) reason = "retries cover connect timeouts only, never a response timeout";
  if (!dropped.empty()) {
    std::string list;
    for (const std::string& item : dropped) list += (list.empty() ? "" : " ") + item;
    if (!reason.empty()) reason += "; ";
    reason += "Switchyard retries connection failures only, not " + list;
  }
  if (!reason.empty()) warnings.approximated(directive, "retries: " + reason);
}

void readAccessLog(const NginxDirective& directive, Level level, ImportContext& context) {
  Warnings& warnings = context.warnings;
  if (directive.args.empty()) {
    warnings.unsupported(directive, "expected a path or off");
    return;
  }
  const std::string& path = directive.args[0].text;
  if (path == "off") {
    if (level == Level::kLocation) {
      warnings.approximated(directive,
                            "the access log is for the whole proxy: requests of "
                            "this location are logged too");
    }
    return;
  }
  if (path.rfind("syslog:", 0) == 0) {
    warnings.unsupported(directive, "Switchyard logs to a file or standard output, not syslog");
    return;
  }
  std::optional<ImportedAccessLog>& log = context.config.access_log;
  if (log && log->path != path) {
    warnings.approximated(directive, "one access log for the whole proxy: " + log->path);
    return;
  }
  const std::string format = directive.args.size() >= 2 ? directive.args[1].text : "combined";
  const auto json = context.log_format_is_json.find(format);
  if (json == context.log_format_is_json.end() || !json->second) {
    warnings.approximated(directive, "[access_log] path = \"" + path +
                                         "\": JSON lines with Switchyard's fields, not "
                                         "the format \"" +
                                         format + "\"");
  }
  if (!log) {
    log = ImportedAccessLog{
        path, directive.position.file + ":" + std::to_string(directive.position.line)};
  }
}

}  // namespace

bool readProxySetting(const NginxDirective& directive, Level level, ProxySettings& settings,
                      ImportContext& context) {
  Warnings& warnings = context.warnings;
  const std::string& name = directive.name;
  if (name == "proxy_connect_timeout")
    return readTime(directive, settings.connect_timeout_ms, warnings);
  if (name == "proxy_read_timeout") return readTime(directive, settings.read_timeout_ms, warnings);
  if (name == "proxy_send_timeout") return readTime(directive, settings.send_timeout_ms, warnings);
  if (name == "keepalive_timeout") {
    if (directive.args.size() == 2) {
      // keepalive_timeout 65 60: the second value is announced in a Keep-Alive header.
      NginxDirective first = directive;
      first.args.resize(1);
      readTime(first, settings.keepalive_timeout_ms, warnings);
      warnings.unsupported(directive,
                           "Switchyard sends no Keep-Alive: timeout= header; the "
                           "first value is carried");
      return true;
    }
    readTime(directive, settings.keepalive_timeout_ms, warnings);
    if (level == Level::kLocation) {
      warnings.approximated(directive, "keepalive_timeout of the listener");
    }
    return true;
  }
  if (name == "client_header_timeout")
    return readTime(directive, settings.header_timeout_ms, warnings);
  if (name == "client_body_timeout" || name == "send_timeout") {
    readTime(directive, settings.client_timeout_ms, warnings);
    warnings.approximated(directive,
                          "client_timeout of the listener (Switchyard has one "
                          "timeout for a client that stops sending or reading)");
    return true;
  }
  if (name == "proxy_next_upstream") {
    readNextUpstream(directive, settings, warnings);
    return true;
  }
  if (name == "proxy_next_upstream_tries") {
    const std::string text = directive.args.size() == 1 ? directive.args[0].text : "";
    if (text.empty() || text.size() > 6 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      warnings.unsupported(directive, "expected a number; left out");
    } else {
      settings.next_upstream_tries = std::stoi(text);
    }
    return true;
  }
  if (name == "proxy_next_upstream_timeout") {
    warnings.unsupported(directive, "retries have no overall time limit in Switchyard");
    return true;
  }
  if (name == "proxy_set_header") {
    if (directive.args.size() == 2 &&
        forwardingHeaderIsBuiltIn(directive.args[0].text, directive.args[1].text)) {
      return true;  // Switchyard does this itself
    }
    warnings.unsupported(directive,
                         "header rewriting does not exist yet (Switchyard only sets "
                         "Host, X-Forwarded-For, X-Forwarded-Proto and X-Real-IP)");
    return true;
  }
  if (name == "add_header") {
    const std::string value = directive.args.size() >= 2 ? directive.args[1].text : "";
    if (value == "$upstream_addr" || value == "$proxy_host" || value == "$upstream_name") {
      settings.pool_header = directive.args[0].text;
      warnings.approximated(directive, "pool_header = \"" + settings.pool_header +
                                           "\": the header names the pool that served the "
                                           "request, not the backend address");
    } else {
      warnings.unsupported(directive, "response header rewriting does not exist yet");
    }
    return true;
  }
  if (name == "client_max_body_size") {
    warnings.unsupported(
        directive, "not converted yet: set the body size limit max_body on the listener or route");
    return true;
  }
  if (name == "access_log") {
    readAccessLog(directive, level, context);
    return true;
  }
  if (name == "mirror") {
    if (directive.args.size() == 1 && directive.args[0].text == "off") {
      settings.mirror_uri.clear();
      settings.mirror_directive = nullptr;
    } else if (directive.args.size() == 1) {
      // Several mirror lines copy each request several times; a route has one mirror.
      if (settings.mirror_set_here) {
        warnings.unsupported(directive, "a route has one mirror: only the first is carried");
        return true;
      }
      settings.mirror_set_here = true;
      settings.mirror_uri = directive.args[0].text;
      settings.mirror_directive = &directive;
    }
    return true;
  }
  if (name == "mirror_request_body") {
    settings.mirror_request_body = !(directive.args.size() == 1 && directive.args[0].text == "off");
    if (!settings.mirror_request_body) {
      warnings.approximated(directive,
                            "mirror max_body_bytes = 0: requests with a body are not "
                            "copied at all (nginx copies them without the body)");
    }
    return true;
  }
  if (level != Level::kLocation &&
      readTlsSetting(directive, context.config.source, settings.tls, warnings)) {
    return true;
  }
  return false;
}

}  // namespace sy::importer
