#pragma once

// Directives that may appear at http, server and location level and are inherited downwards
// (timeouts, retries, headers, mirror, logs): read into ProxySettings, which a location's route
// and pool are built from. Warnings are given where a directive is written, once.

#include <cstdint>
#include <optional>
#include <string>

#include "import/import_context.h"
#include "import/nginx_ast.h"
#include "import/tls_settings.h"

namespace sy::importer {

enum class Level { kHttp, kServer, kLocation };

struct ProxySettings {
  std::optional<int64_t> connect_timeout_ms;  // proxy_connect_timeout
  std::optional<int64_t> read_timeout_ms;     // proxy_read_timeout
  std::optional<int64_t> send_timeout_ms;     // proxy_send_timeout
  bool next_upstream_seen = false;            // proxy_next_upstream
  bool next_upstream_off = false;
  std::optional<int> next_upstream_tries;       // proxy_next_upstream_tries
  std::optional<int64_t> keepalive_timeout_ms;  // keepalive_timeout (clients)
  std::optional<int64_t> header_timeout_ms;     // client_header_timeout
  std::optional<int64_t> client_timeout_ms;     // client_body_timeout / send_timeout
  std::string pool_header;                      // add_header NAME $upstream_addr
  std::string mirror_uri;                       // mirror URI
  const NginxDirective* mirror_directive = nullptr;
  bool mirror_request_body = true;  // mirror_request_body
  bool mirror_set_here = false;     // a mirror line was read at the current level
  TlsSettings tls;                  // ssl_* and http2 (http and server levels)

  // The settings a nested block starts from: everything is inherited.
  ProxySettings inherited() const {
    ProxySettings child = *this;
    child.mirror_set_here = false;
    child.tls = tls.inherited();
    return child;
  }
};

// Reads `directive` into `settings` when it is one of these; false when it is not (the caller
// handles it).
bool readProxySetting(const NginxDirective& directive, Level level, ProxySettings& settings,
                      ImportContext& context);

}  // namespace sy::importer
