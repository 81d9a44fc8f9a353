#pragma once

// Which configuration the process runs, first match wins:
//   1. -c FILE on the command line
//   2. the file named by $SWITCHYARD_CONFIG (set and not empty)
//   3. sidecar mode, no file: $SWITCHYARD_UPSTREAM (and the other SWITCHYARD_* variables below)
//   4. the demo configuration compiled into the binary (conf/demo.toml)
//
// Sidecar mode covers the common case of one proxy in front of one local application: a listener
// "http", a pool "app" with the upstream backends, a route "default" for every request, and the
// admin API. Its variables:
//   SWITCHYARD_UPSTREAM          required: "host:port", or several separated by commas
//   SWITCHYARD_LISTEN            the listener, default "0.0.0.0:8080"
//   SWITCHYARD_ADMIN             admin.listen, default "127.0.0.1:9901"
//   SWITCHYARD_ADMIN_TOKEN       the admin bearer token (admin.token_env points at it); needed
//                                when SWITCHYARD_ADMIN is not a loopback address
//   SWITCHYARD_SHUTDOWN_TIMEOUT  server.shutdown_timeout, default that of the file format (30s)
//   SWITCHYARD_ACCESS_LOG        access_log.path ("-" is standard output); unset: no access log

#include <string>

#include "absl/status/statusor.h"
#include "proxy/config_source.h"
#include "routing/config/env_expansion.h"

namespace sy::proxy {

struct ConfigChoice {
  enum class Origin { kCommandLine, kConfigEnv, kSidecarEnv, kEmbeddedDemo };
  Origin origin = Origin::kEmbeddedDemo;
  ConfigSource source;
};

// Applies the order above. Fails only in sidecar mode, when SWITCHYARD_UPSTREAM is empty.
absl::StatusOr<ConfigChoice> chooseConfig(const std::string& command_line_path,
                                          const std::string& embedded_demo_text,
                                          const routing::config::EnvLookup& env);

// The TOML that sidecar mode runs (exposed for tests and for `--check` messages).
std::string sidecarConfigToml(const routing::config::EnvLookup& env);

}  // namespace sy::proxy
