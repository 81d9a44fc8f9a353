#include "admin/status_json.h"

#include "absl/time/time.h"
#include "core/build_info.h"

namespace sy::admin {
namespace {

const char* balancerName(routing::config::BalancerKind kind) {
  switch (kind) {
    case routing::config::BalancerKind::kRoundRobin:
      return "round_robin";
    case routing::config::BalancerKind::kLeastRequest:
      return "least_request";
    case routing::config::BalancerKind::kHash:
      return "hash";
  }
  return "round_robin";
}

nlohmann::json ruleJson(const routing::config::MatchRuleConfig& rule) {
  using routing::config::MatchRuleConfig;
  nlohmann::json out = nlohmann::json::object();
  const char* source = rule.source == MatchRuleConfig::Source::kHeader   ? "header"
                       : rule.source == MatchRuleConfig::Source::kCookie ? "cookie"
                                                                         : "query";
  out[source] = rule.name;
  switch (rule.op) {
    case MatchRuleConfig::Op::kEquals:
      out["equals"] = rule.value;
      break;
    case MatchRuleConfig::Op::kPrefix:
      out["prefix"] = rule.value;
      break;
    case MatchRuleConfig::Op::kPresent:
      out["present"] = true;
      break;
  }
  out["pool"] = rule.pool;
  return out;
}

nlohmann::json routesJson(const routing::config::Config& config,
                          const routing::TrafficState& traffic) {
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& route : config.routes) {
    const routing::RouteTraffic* t = traffic.find(route.name);
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& rule : route.rules) rules.push_back(ruleJson(rule));
    nlohmann::json canary = nullptr;
    if (t != nullptr && !t->canary_pool.empty()) {
      canary = {{"pool", t->canary_pool}, {"weight", t->canary_weight}};
    }
    nlohmann::json mirror = nullptr;
    if (t != nullptr && !t->mirror_pool.empty()) {
      mirror = {{"pool", t->mirror_pool}, {"percent", t->mirror_percent}};
    }
    routes.push_back(
        {{"name", route.name},
         {"hosts", route.hosts},
         {"path_prefix", route.path_prefix},
         {"active", t != nullptr ? t->active : route.pool},
         {"previous", t != nullptr && !t->previous.empty() ? nlohmann::json(t->previous)
                                                           : nlohmann::json(nullptr)},
         {"canary", canary},
         {"mirror", mirror},
         {"rules", rules},
         {"sticky", route.sticky ? nlohmann::json(route.sticky->text) : nlohmann::json(nullptr)},
         {"pool_header",
          route.pool_header.empty() ? nlohmann::json(nullptr) : nlohmann::json(route.pool_header)},
         {"retries", route.retries}});
  }
  return routes;
}

nlohmann::json poolsJson(const routing::config::Config& config,
                         const routing::ConfigSnapshot& snapshot,
                         const health::BackendStateTable& backend_states) {
  nlohmann::json pools = nlohmann::json::array();
  for (const auto& pool : snapshot.pools) {
    nlohmann::json backends = poolBackendsJson(snapshot, pool->name, backend_states);
    const routing::config::PoolConfig* pool_config = config.findPool(pool->name);
    pools.push_back(
        {{"name", pool->name},
         {"balancer", balancerName(pool->settings.balancer)},
         {"health_check", pool_config != nullptr && pool_config->health_check.has_value()},
         {"panic", pool->panic},
         {"eligible_backends", pool->eligible.size()},
         {"backends", backends}});
  }
  return pools;
}

}  // namespace

nlohmann::json poolBackendsJson(const routing::ConfigSnapshot& snapshot, const std::string& pool,
                                const health::BackendStateTable& backend_states) {
  nlohmann::json backends = nlohmann::json::array();
  const int index = snapshot.poolIndex(pool);
  if (index < 0) return backends;
  for (const auto& entry : snapshot.pools[static_cast<size_t>(index)]->backends) {
    nlohmann::json backend;
    if (const health::BackendRecord* record = backend_states.find(pool, entry.info->address_text)) {
      backend = backendJson(&snapshot, *record);
    }
    const upstream::BackendStats& stats = *entry.info->stats;
    backend["weight"] = entry.info->weight;
    backend["eligible"] = entry.eligible;
    backend["idle_connections"] = stats.sum(&upstream::BackendWorkerStats::idle_connections);
    backend["requests"] = stats.sum(&upstream::BackendWorkerStats::requests);
    backends.push_back(std::move(backend));
  }
  return backends;
}

BackendLoad backendLoad(const routing::ConfigSnapshot* snapshot, const std::string& pool,
                        const std::string& address) {
  BackendLoad load;
  if (snapshot == nullptr) return load;
  const int index = snapshot->poolIndex(pool);
  if (index < 0) return load;
  for (const auto& entry : snapshot->pools[static_cast<size_t>(index)]->backends) {
    if (entry.info->address_text != address) continue;
    load.in_flight = entry.info->stats->sum(&upstream::BackendWorkerStats::active_requests);
    load.open_connections = entry.info->stats->sum(&upstream::BackendWorkerStats::open_connections);
  }
  return load;
}

bool backendDrained(const routing::ConfigSnapshot* snapshot, const health::BackendRecord& record) {
  if (record.admin == routing::AdminState::kReady) return false;
  const BackendLoad load = backendLoad(snapshot, record.pool, record.address);
  return load.in_flight == 0 && load.open_connections == 0;
}

nlohmann::json backendJson(const routing::ConfigSnapshot* snapshot,
                           const health::BackendRecord& record) {
  const BackendLoad load = backendLoad(snapshot, record.pool, record.address);
  // "drained" is the end of draining; a disabled backend stays "disabled".
  const bool is_drained =
      record.admin == routing::AdminState::kDraining && backendDrained(snapshot, record);
  nlohmann::json last_check = nullptr;
  if (record.last_check != absl::InfinitePast()) {
    last_check = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.last_check, absl::UTCTimeZone());
  }
  return {{"address", record.address},
          {"health", routing::healthStateName(record.health)},
          {"admin_state", is_drained ? "drained" : routing::adminStateName(record.admin)},
          {"ejected", record.ejected},
          {"in_flight", load.in_flight},
          {"open_connections", load.open_connections},
          {"last_check", last_check},
          {"last_check_ms", record.last_check_ms},
          {"last_error",
           record.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(record.last_error)},
          {"consecutive_successes", record.counters.successes},
          {"consecutive_failures", record.counters.failures}};
}

nlohmann::json statusJson(const ProcessStatus& process, const routing::config::Config& config,
                          const routing::TrafficState& traffic,
                          const routing::ConfigSnapshot& snapshot,
                          const health::BackendStateTable& backend_states) {
  return {{"version", core::versionString()},
          {"commit", core::gitCommit()},
          {"uptime_seconds", process.uptime_seconds},
          {"generation", snapshot.generation},
          {"config", process.config},
          {"workers", process.workers},
          {"ready", process.ready},
          {"routes", routesJson(config, traffic)},
          {"pools", poolsJson(config, snapshot, backend_states)}};
}

}  // namespace sy::admin
