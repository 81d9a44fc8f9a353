#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {

const TableSchema<ServerConfig>& serverSchema() {
  static const TableSchema<ServerConfig> schema{
      .fields = {
          integerField("workers", &ServerConfig::workers, 0, 256),
          durationField("shutdown_timeout", &ServerConfig::shutdown_timeout, absl::ZeroDuration(),
                        absl::Hours(1)),
          stringField("state_file", &ServerConfig::state_file),
          durationField("switch_drain_delay", &ServerConfig::switch_drain_delay,
                        absl::ZeroDuration(), absl::Hours(1)),
          durationField("accept_grace", &ServerConfig::accept_grace, absl::ZeroDuration(),
                        absl::Minutes(10)),
      }};
  return schema;
}

const TableSchema<AdminConfig>& adminSchema() {
  static const TableSchema<AdminConfig> schema{
      .fields =
          {
              addressField("listen", &AdminConfig::listen_text, &AdminConfig::listen,
                           PortZero::kAllowed),
              stringField("token", &AdminConfig::token),
              parsedField("token_env", &AdminConfig::token_env, checkEnvName),
              integerField("max_connections", &AdminConfig::max_connections, 1, 10000),
              durationField("request_timeout", &AdminConfig::request_timeout,
                            absl::Milliseconds(100), absl::Hours(1)),
              durationField("idle_timeout", &AdminConfig::idle_timeout, absl::Milliseconds(100),
                            absl::Hours(1)),
              tableField("tls", &AdminConfig::tls, adminTlsSchema),
          },
      .check =
          [](const toml::table& table, const std::string& key, AdminConfig& out, ErrorSink& sink) {
            // The admin API can switch traffic and drain backends: anyone who can reach it
            // controls the proxy, so beyond loopback it must ask for a token or a client
            // certificate.
            const toml::node* listen = table.get("listen");
            const std::string listen_key = childKey(key, "listen");
            if (listen == nullptr || out.listen.isLoopback() || sink.hasErrorAt(listen_key) ||
                sink.hasErrorAt(childKey(key, "token_env"))) {
              return;
            }
            const bool client_certificates = out.tls.has_value() && !out.tls->client_ca.empty();
            if (out.token.empty() && out.token_env.empty() && !client_certificates) {
              sink.add(positionOf(*listen), listen_key,
                       "binding the admin API to a non-loopback address requires token, "
                       "token_env or tls.client_ca");
            }
          },
  };
  return schema;
}

const TableSchema<AccessLogConfig>& accessLogSchema() {
  using A = AccessLogConfig;
  static const TableSchema<A> schema{
      .fields =
          {
              parsedField("path", &A::path, checkLogPath),
              durationField("flush_interval", &A::flush_interval, absl::Milliseconds(10),
                            absl::Minutes(1)),
              integerField("buffer_bytes", &A::buffer_bytes, 1024, 16 * 1024 * 1024),
          },
  };
  return schema;
}

}  // namespace sy::routing::config
