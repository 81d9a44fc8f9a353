#pragma once

// The schema of every table in a Switchyard configuration (conf/REFERENCE.md documents each key).
// configSchema() is the root: it names the sections, and its check runs the rules that span
// sections (document_checks.h).

#include "routing/config/model.h"
#include "routing/config/table_schema.h"

namespace sy::routing::config {

const TableSchema<Config>& configSchema();
const TableSchema<ServerConfig>& serverSchema();
const TableSchema<AdminConfig>& adminSchema();
const TableSchema<AccessLogConfig>& accessLogSchema();
const TableSchema<FleetConfig>& fleetSchema();
const TableSchema<ListenerConfig>& listenerSchema();
const TableSchema<tls::ServerSettings>& listenerTlsSchema();
// The listener's keys plus client_ca.
const TableSchema<tls::ServerSettings>& adminTlsSchema();
const TableSchema<tls::CertificateFiles>& certificateSchema();
const TableSchema<tls::ClientSettings>& poolTlsSchema();
const TableSchema<PoolConfig>& poolSchema();
const TableSchema<BackendConfig>& backendSchema();
const TableSchema<HealthCheckConfig>& healthCheckSchema();
const TableSchema<OutlierDetectionConfig>& outlierDetectionSchema();
const TableSchema<RouteConfig>& routeSchema();
const TableSchema<MatchRuleConfig>& matchRuleSchema();
const TableSchema<CanaryConfig>& canarySchema();
const TableSchema<MirrorConfig>& mirrorSchema();
// Request shaping (shaping_schema.cc).
const TableSchema<HeaderRulesConfig>& headerRulesSchema();
const TableSchema<PathRewriteConfig>& pathRewriteSchema();
const TableSchema<RedirectConfig>& redirectSchema();
const TableSchema<RespondConfig>& respondSchema();
// The rules of a route's shaping keys that span keys, and exactly one of pool, redirect and
// respond.
void checkRouteShaping(const toml::table& table, const std::string& key, RouteConfig& route,
                       ErrorSink& sink);
// [[rollouts]]: each table read as JSON (rollout_schema.cc).
Field<Config> rolloutsField();

// A rate_limit_burst without a rate_limit above 0 would do nothing: reported at the burst.
void checkRateLimitBurst(const toml::table& table, const std::string& key, bool rate_limited,
                         ErrorSink& sink);

}  // namespace sy::routing::config
