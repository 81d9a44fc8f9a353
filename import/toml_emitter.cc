#include "import/toml_emitter.h"

#include <cmath>
#include <cstdio>

namespace sy::importer {
namespace {

std::string number(double value) {
  if (value == std::floor(value)) return std::to_string(static_cast<int64_t>(value));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

class Writer {
 public:
  void line(const std::string& text = "") { out_ += text + "\n"; }
  void comment(const std::string& text) { line("# " + text); }
  void key(const std::string& name, const std::string& toml_value) {
    line(name + " = " + toml_value);
  }
  void string(const std::string& name, const std::string& value) { key(name, tomlString(value)); }
  void optionalString(const std::string& name, const std::optional<std::string>& value) {
    if (value) string(name, *value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void writeListenerTls(const ImportedTls& tls, Writer& w) {
  w.line();
  w.line("[listeners.tls]");
  w.line("certificates = [");
  for (const ImportedCertificate& pair : tls.certificates) {
    w.line("  { cert = " + tomlString(pair.cert) + ", key = " + tomlString(pair.key) + " },");
  }
  w.line("]");
  w.optionalString("min_version", tls.min_version);
  w.optionalString("ciphers", tls.ciphers);
  w.optionalString("curves", tls.curves);
  if (tls.strict_sni) w.key("strict_sni", "true");
}

void writeListeners(const ImportedConfig& config, Writer& w) {
  for (const ImportedListener& listener : config.listeners) {
    w.line();
    w.line("[[listeners]]");
    w.comment("from listen (" + listener.origin + ")");
    w.string("name", listener.name);
    w.string("listen", listener.listen);
    w.optionalString("keepalive_timeout", listener.keepalive_timeout);
    w.optionalString("header_timeout", listener.header_timeout);
    w.optionalString("client_timeout", listener.client_timeout);
    if (listener.backlog) w.key("backlog", std::to_string(*listener.backlog));
    // Written either way on TLS: Switchyard's default there is h2 on, nginx's off.
    if (listener.http2 || listener.tls) w.key("http2", listener.http2 ? "true" : "false");
    if (listener.tls) writeListenerTls(*listener.tls, w);
  }
}

void writePools(const ImportedConfig& config, Writer& w) {
  for (const ImportedPool& pool : config.pools) {
    w.line();
    w.line("[[pools]]");
    w.comment("from " + pool.origin);
    w.string("name", pool.name);
    if (!pool.balancer.empty()) w.string("balancer", pool.balancer);
    if (!pool.hash_key.empty()) w.string("hash_key", pool.hash_key);
    w.line("backends = [");
    for (const ImportedBackend& backend : pool.backends) {
      std::string element = "  { address = " + tomlString(backend.address) +
                            ", weight = " + std::to_string(backend.weight) + " },";
      if (!backend.comment.empty()) element += "  # " + backend.comment;
      w.line(element);
    }
    w.line("]");
    w.optionalString("connect_timeout", pool.connect_timeout);
    w.optionalString("response_timeout", pool.response_timeout);
    w.optionalString("idle_timeout", pool.idle_timeout);
    if (pool.keepalive_max_idle) {
      w.key("keepalive_max_idle", std::to_string(*pool.keepalive_max_idle));
    }
    w.optionalString("keepalive_timeout", pool.keepalive_timeout);
    if (pool.outlier_detection) {
      const ImportedOutlier& outlier = *pool.outlier_detection;
      w.line();
      w.line("[pools.outlier_detection]");
      w.comment("nginx max_fails/fail_timeout: out after max_fails failures, back after");
      w.comment("fail_timeout (nginx counts failures within fail_timeout, Switchyard in a row).");
      w.key("consecutive_failures", std::to_string(outlier.consecutive_failures));
      w.string("base_ejection_time", outlier.base_ejection_time);
      w.string("max_ejection_time", outlier.max_ejection_time);
    }
  }
}

void writeRoute(const ImportedRoute& route, Writer& w) {
  w.line();
  w.line("[[routes]]");
  w.comment("from " + route.origin);
  w.string("name", route.name);
  if (!route.hosts.empty()) {
    std::string list;
    for (const std::string& host : route.hosts) {
      list += (list.empty() ? "" : ", ") + tomlString(host);
    }
    w.key("hosts", "[" + list + "]");
  }
  w.string("path_prefix", route.path_prefix);
  w.string("pool", route.pool);
  if (route.retries) w.key("retries", std::to_string(*route.retries));
  if (route.canary) {
    w.key("canary", "{ pool = " + tomlString(route.canary->pool) +
                        ", weight = " + number(route.canary->weight) + " }");
  }
  if (!route.sticky.empty()) w.string("sticky", route.sticky);
  if (!route.pool_header.empty()) w.string("pool_header", route.pool_header);
  for (const ImportedRule& rule : route.rules) {
    w.line();
    w.line("[[routes.rules]]");
    w.string(rule.attribute, rule.name);
    w.string(rule.comparison, rule.value);
    w.string("pool", rule.pool);
  }
  if (route.mirror) {
    w.line();
    w.line("[routes.mirror]");
    w.comment("nginx `mirror` copies every request");
    w.string("pool", route.mirror->pool);
    w.key("percent", number(route.mirror->percent));
    if (route.mirror->max_body_bytes) {
      w.key("max_body_bytes", std::to_string(*route.mirror->max_body_bytes));
    }
  }
}

}  // namespace

std::string tomlString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string emitToml(const ImportedConfig& config, size_t warning_count) {
  Writer w;
  w.comment("Switchyard configuration imported from the nginx configuration " + config.source);
  w.comment("by `switchyard import nginx`. Every key is described in conf/REFERENCE.md.");
  w.comment("Check it with `switchyard --check -c FILE` before using it.");
  if (warning_count > 0) {
    w.comment("Not everything carried over exactly: the import printed " +
              std::to_string(warning_count) + " warning(s),");
    w.comment("FILE:LINE: DIRECTIVE: unsupported|approximated|ignored: WHY.");
  }
  w.comment("Routes are tried in order, first match wins: the import orders them so that the");
  w.comment("same server and location as in nginx answers (named servers first, the default");
  w.comment("server last with any host; exact locations, then longer prefixes first).");
  writeListeners(config, w);
  writePools(config, w);
  for (const ImportedRoute& route : config.routes) writeRoute(route, w);
  if (config.access_log) {
    w.line();
    w.line("[access_log]");
    w.comment("from access_log (" + config.access_log->origin + ")");
    w.string("path", config.access_log->path);
  }
  return w.take();
}

}  // namespace sy::importer
