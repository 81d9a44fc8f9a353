#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {

const TableSchema<RouteConfig>& routeSchema() {
  using R = RouteConfig;
  static const TableSchema<R> schema{
      .fields =
          {
              required(parsedField("name", &R::name, checkName)),
              stringListField("hosts", &R::hosts, normalizeHostPattern),
              parsedField("path_prefix", &R::path_prefix, checkPathPrefix),
              // Whether the pool exists is a document check: pools may come after routes.
              required(stringField("pool", &R::pool)),
              integerField("retries", &R::retries, 0, 10),
          },
      .prepare = [](const toml::table& table, size_t, R& out) { out.position = positionOf(table); },
  };
  return schema;
}

}  // namespace sy::routing::config
