#include "routing/config/document_checks.h"
#include "routing/config/schemas.h"

namespace sy::routing::config {

const TableSchema<Config>& configSchema() {
  static const TableSchema<Config> schema{
      .fields =
          {
              tableField("server", &Config::server, serverSchema),
              tableField("admin", &Config::admin, adminSchema),
              tableField("access_log", &Config::access_log, accessLogSchema),
              tableField("fleet", &Config::fleet, fleetSchema),
              required(
                  tableArrayField("listeners", &Config::listeners, listenerSchema, "[[listeners]]"),
                  "at least one [[listeners]] table is required"),
              required(tableArrayField("pools", &Config::pools, poolSchema, "[[pools]]"),
                       "at least one [[pools]] table is required"),
              required(tableArrayField("routes", &Config::routes, routeSchema, "[[routes]]"),
                       "at least one [[routes]] table is required"),
              rolloutsField(),
          },
      .prepare =
          [](const toml::table&, size_t, Config& out) {
            // The admin API listens even without an [admin] table, on the default address.
            out.admin.listen = *core::NetAddress::parse(out.admin.listen_text, false);
          },
      .check = [](const toml::table& root, const std::string&, Config& out,
                  ErrorSink& sink) { checkDocument(root, out, sink); },
  };
  return schema;
}

}  // namespace sy::routing::config
