#include "import/directive_catalog.h"

#include <string_view>

namespace sy::importer {
namespace {

struct Explained {
  std::string_view name;
  std::string_view reason;
};

// Directives about how nginx runs as a process or how it buffers and serves files: Switchyard
// has its own defaults and nothing to configure in their place.
constexpr Explained kNoMeaning[] = {
    {"user", "the process user is chosen by whoever starts Switchyard"},
    {"worker_processes", "Switchyard's [server] workers = 0 already uses one thread per core"},
    {"worker_rlimit_nofile", "set the file limit in the service manager (LimitNOFILE)"},
    {"worker_connections", "Switchyard has no connection cap per worker"},
    {"pid", "Switchyard writes no pid file"},
    {"error_log", "Switchyard logs events to stderr"},
    {"daemon", "Switchyard runs in the foreground"},
    {"master_process", "Switchyard is a single process"},
    {"events", "connection processing settings have no Switchyard equivalent"},
    {"use", "Switchyard uses epoll through libuv"},
    {"multi_accept", "Switchyard accepts in its own loop"},
    {"load_module", "no modules"},
    {"sendfile", "file serving"},
    {"tcp_nopush", "file serving"},
    {"tcp_nodelay", "Switchyard always sets TCP_NODELAY"},
    {"types", "file serving (MIME types)"},
    {"default_type", "file serving (MIME types)"},
    {"types_hash_max_size", "file serving (MIME types)"},
    {"server_names_hash_bucket_size", "hash table sizing"},
    {"server_names_hash_max_size", "hash table sizing"},
    {"variables_hash_max_size", "hash table sizing"},
    {"map_hash_bucket_size", "hash table sizing"},
    {"server_tokens", "Switchyard adds no Server header of its own"},
    {"proxy_http_version", "Switchyard always talks HTTP/1.1 to backends"},
    {"proxy_buffering", "Switchyard streams responses"},
    {"proxy_buffers", "Switchyard streams responses"},
    {"proxy_buffer_size", "Switchyard streams responses"},
    {"proxy_busy_buffers_size", "Switchyard streams responses"},
    {"proxy_request_buffering", "Switchyard streams request bodies"},
    {"proxy_cache_bypass", "Switchyard has no cache"},
    {"proxy_no_cache", "Switchyard has no cache"},
    {"proxy_ignore_client_abort", "see abort_on_client_close in [[listeners]]"},
    {"proxy_redirect",
     "Switchyard does not rewrite Location headers (default in nginx: off "
     "for most setups)"},
    {"client_body_buffer_size", "Switchyard streams request bodies"},
    {"client_body_temp_path", "Switchyard keeps no temporary files"},
    {"proxy_temp_path", "Switchyard keeps no temporary files"},
    {"fastcgi_temp_path", "Switchyard keeps no temporary files"},
    {"uwsgi_temp_path", "Switchyard keeps no temporary files"},
    {"scgi_temp_path", "Switchyard keeps no temporary files"},
    {"internal", "the location only serves the mirror"},
    {"log_not_found", "file serving"},
    {"charset", "file serving"},
};

}  // namespace

void warnUnknownDirective(const NginxDirective& directive, Warnings& warnings) {
  for (const Explained& entry : kNoMeaning) {
    if (entry.name == directive.name) {
      warnings.ignored(directive, std::string(entry.reason));
      return;
    }
  }
  if (directive.name.rfind("ssl_", 0) == 0 || directive.name == "http2") {
    // The http and server levels read these (tls_settings.h); nginx refuses them elsewhere.
    warnings.unsupported(directive, "TLS settings belong in an http or server block; left out");
    return;
  }
  if (directive.name.rfind("gzip", 0) == 0) {
    warnings.unsupported(directive, "Switchyard does not compress responses");
    return;
  }
  if (directive.name.rfind("proxy_cache", 0) == 0) {
    warnings.unsupported(directive, "Switchyard has no cache");
    return;
  }
  warnings.unsupported(directive, "no Switchyard equivalent; left out");
}

}  // namespace sy::importer
