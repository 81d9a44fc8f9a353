#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/stable_hash.h"
#include "routing/snapshot.h"
#include "upstream/balancer.h"

namespace sy::routing {
namespace {

uint64_t toMs(absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  return ms > 0 ? static_cast<uint64_t>(ms) : 0;
}

// Unset burst: one second's worth of requests, at least one.
RateLimit rateLimit(double rate, uint32_t burst, uint64_t zone) {
  RateLimit limit;
  limit.rate = rate;
  limit.burst = burst > 0 ? burst : std::max(1.0, std::ceil(rate));
  limit.zone = zone;
  return limit;
}

RequestIdSettings requestIdSettings(const std::string& header, config::RequestIdMode mode) {
  RequestIdSettings settings;
  settings.header = header;
  settings.header_lower = absl::AsciiStrToLower(header);
  settings.always = mode == config::RequestIdMode::kAlways;
  return settings;
}

ListenerSettings listenerSettings(const config::ListenerConfig& listener, size_t workers) {
  ListenerSettings settings;
  settings.name = listener.name;
  settings.address = listener.listen;
  settings.limits.max_url_bytes = listener.max_url_bytes;
  settings.limits.max_header_bytes = listener.max_header_bytes;
  settings.limits.max_header_count = listener.max_headers;
  settings.header_timeout_ms = toMs(listener.header_timeout);
  settings.keepalive_timeout_ms = toMs(listener.keepalive_timeout);
  settings.client_timeout_ms = toMs(listener.client_timeout);
  settings.abort_on_client_close = listener.abort_on_client_close;
  settings.proxy_protocol = listener.proxy_protocol;
  settings.http2 = listener.http2;
  settings.http2_limits = {
      .max_concurrent_streams = listener.http2_max_concurrent_streams,
      .max_header_list_size = listener.http2_max_header_list_size,
      .hpack_table_size = listener.http2_hpack_table_size,
      .response_hpack_table_size = listener.http2_response_hpack_table_size,
      .max_resets = listener.http2_max_resets,
      .reset_interval_ms = toMs(listener.http2_reset_interval),
      .stall_timeout_ms = toMs(listener.http2_stall_timeout),
  };
  settings.redirect_to_https = listener.redirect_to_https;
  settings.https_port = static_cast<uint16_t>(listener.https_port);
  settings.max_body_bytes = listener.max_body;
  settings.request_id = requestIdSettings(listener.request_id, listener.request_id_mode);
  settings.path.merge_slashes = listener.merge_slashes;
  settings.path.allow_encoded_slash = listener.allow_encoded_slash;
  settings.reject_unnormalized_paths =
      listener.path_normalization == config::PathNormalization::kReject;
  ClientLimitSettings& limits = settings.client_limits;
  limits.max_connections = listener.max_connections;
  limits.max_connections_per_ip = listener.max_connections_per_ip;
  if (listener.rate_limit > 0) {
    limits.rate = rateLimit(listener.rate_limit, listener.rate_limit_burst, 0);
  }
  // The table size bounds the memory of the whole process, so it is split over the workers.
  limits.table_entries_per_worker =
      std::max<size_t>(1, listener.client_table_size / std::max<size_t>(1, workers));
  for (const std::string& cidr : listener.trusted_proxies) {
    // Checked by the loader (normalizeCidr), so parsing cannot fail here.
    if (auto prefix = core::IpPrefix::parse(cidr); prefix.ok()) {
      limits.trusted_proxies.push_back(*prefix);
    }
  }
  return settings;
}

}  // namespace

int ConfigSnapshot::poolIndex(std::string_view name) const {
  for (size_t i = 0; i < pools.size(); ++i) {
    if (pools[i]->name == name) return static_cast<int>(i);
  }
  return -1;
}

const char* healthStateName(HealthState state) {
  switch (state) {
    case HealthState::kUnchecked:
      return "unchecked";
    case HealthState::kUnknown:
      return "unknown";
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kUnhealthy:
      return "unhealthy";
  }
  return "unknown";
}

const char* adminStateName(AdminState state) {
  switch (state) {
    case AdminState::kReady:
      return "ready";
    case AdminState::kDraining:
      return "draining";
    case AdminState::kDisabled:
      return "disabled";
  }
  return "ready";
}

std::shared_ptr<const upstream::PoolSnapshot> SnapshotBuilder::buildPool(
    const config::PoolConfig& pool_config, const BackendStateView* states) {
  auto pool = std::make_shared<upstream::PoolSnapshot>();
  auto [id_it, inserted] = pool_ids_.try_emplace(pool_config.name, next_id_);
  if (inserted) ++next_id_;
  pool->id = id_it->second;
  pool->name = pool_config.name;
  upstream::PoolSettings& settings = pool->settings;
  settings.balancer = pool_config.balancer;
  settings.hash_key = pool_config.hash_key;
  settings.connect_timeout_ms = toMs(pool_config.connect_timeout);
  settings.response_timeout_ms = toMs(pool_config.response_timeout);
  settings.idle_timeout_ms = toMs(pool_config.idle_timeout);
  settings.keepalive_timeout_ms = toMs(pool_config.keepalive_timeout);
  if (pool_config.tls.has_value()) {
    auto found = pool_tls_contexts_.find(pool_config.name);
    if (found != pool_tls_contexts_.end()) settings.tls = found->second;
  }
  settings.keepalive_max_idle = pool_config.keepalive_max_idle;
  settings.outlier_consecutive_failures = pool_config.outlier_detection.consecutive_failures;
  const bool unknown_gets_traffic =
      !pool_config.health_check || pool_config.health_check->traffic_before_first_check;

  for (const config::BackendConfig& backend : pool_config.backends) {
    const std::string key = absl::StrCat(pool_config.name, "\n", backend.address_text);
    std::shared_ptr<const upstream::BackendInfo>& known = backends_[key];
    if (known == nullptr || known->weight != backend.weight ||
        known->address.toString() != backend.address.toString()) {
      auto info = std::make_shared<upstream::BackendInfo>();
      info->id = known != nullptr ? known->id : next_id_++;
      info->pool = pool_config.name;
      info->address_text = backend.address_text;
      info->address = backend.address;
      info->weight = backend.weight;
      // Counters outlive weight changes: same backend, same figures.
      info->stats =
          known != nullptr ? known->stats : std::make_shared<upstream::BackendStats>(workers_);
      known = std::move(info);
    }
    BackendRuntime runtime;
    if (states != nullptr) runtime = states->stateOf(pool_config.name, backend.address_text);
    const bool ready = runtime.admin == AdminState::kReady;
    const bool healthy = runtime.health == HealthState::kHealthy ||
                         runtime.health == HealthState::kUnchecked ||
                         (runtime.health == HealthState::kUnknown && unknown_gets_traffic &&
                          !runtime.awaiting_check);
    const bool eligible = ready && healthy && !runtime.ejected;
    if (eligible) pool->eligible.push_back(static_cast<uint32_t>(pool->backends.size()));
    pool->backends.push_back(upstream::BackendEntry{known, eligible, !ready});
  }
  // Nobody is usable. "panic" sends to every backend an operator has not taken out, healthy or
  // not: better a chance than a certain 503.
  if (pool->eligible.empty() && pool_config.when_all_down == config::AllDownPolicy::kPanic) {
    for (size_t i = 0; i < pool->backends.size(); ++i) {
      if (pool->backends[i].draining) continue;
      pool->backends[i].eligible = true;
      pool->eligible.push_back(static_cast<uint32_t>(i));
    }
    pool->panic = !pool->eligible.empty();
  }
  if (settings.balancer == config::BalancerKind::kHash)
    pool->ring = upstream::HashRing::build(*pool);
  std::shared_ptr<upstream::PoolStats>& stats = pool_stats_[pool_config.name];
  if (stats == nullptr) stats = std::make_shared<upstream::PoolStats>(workers_);
  pool->stats = stats;
  return pool;
}

std::shared_ptr<const upstream::PoolSnapshot> SnapshotBuilder::poolFor(
    const std::shared_ptr<const config::Config>& config, const config::PoolConfig& pool,
    const BackendStateView* states) {
  if (pools_config_ != config) {
    pools_config_ = config;
    pools_.clear();
  }
  const uint64_t version = states != nullptr ? states->poolVersion(pool.name) : 0;
  CachedPool& cached = pools_[pool.name];
  if (cached.pool == nullptr || cached.state_version != version) {
    cached.pool = buildPool(pool, states);
    cached.state_version = version;
  }
  return cached.pool;
}

void SnapshotBuilder::prune(const ConfigSnapshot& snapshot) {
  // What the latest snapshot does not use is forgotten, so that renamed or removed pools,
  // routes and backends do not accumulate over reloads.
  core::StringMap<std::shared_ptr<const upstream::BackendInfo>> backends;
  core::StringMap<std::shared_ptr<upstream::PoolStats>> pool_stats;
  core::StringMap<std::shared_ptr<RoutePoolStats>> route_stats;
  core::StringMap<std::shared_ptr<MirrorStats>> mirror_stats;
  for (const auto& pool : snapshot.pools) {
    pool_stats[pool->name] = pool->stats;
    for (const auto& entry : pool->backends) {
      backends[absl::StrCat(pool->name, "\n", entry.info->address_text)] = entry.info;
    }
  }
  for (const Route& route : snapshot.routes.routes()) {
    for (size_t i = 0; i < snapshot.pools.size(); ++i) {
      const std::string key = absl::StrCat(route.name, "\n", snapshot.pools[i]->name);
      route_stats[key] = route.stats_by_pool[i];
      if (route.mirror_stats_by_pool[i] != nullptr)
        mirror_stats[key] = route.mirror_stats_by_pool[i];
    }
  }
  backends_.swap(backends);
  pool_stats_.swap(pool_stats);
  route_stats_.swap(route_stats);
  mirror_stats_.swap(mirror_stats);
}

absl::Status SnapshotBuilder::loadTls(const config::Config& config) {
  core::StringMap<std::shared_ptr<const tls::ServerContext>> contexts;
  std::vector<std::string> errors;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const config::ListenerConfig& listener = config.listeners[i];
    if (!listener.tls.has_value()) continue;
    // The listener keeps its session ticket keys across reloads: tickets issued before resume.
    auto running = tls_contexts_.find(listener.name);
    // ALPN offers h2 only where the listener speaks it.
    tls::ServerSettings tls_settings = *listener.tls;
    tls_settings.http2 = listener.http2;
    auto context = tls::ServerContext::create(
        tls_settings, running != tls_contexts_.end() ? running->second->ticketKeys() : nullptr);
    if (!context.ok()) {
      errors.push_back(
          absl::StrCat("listeners[", i, "] (", listener.name, "): ", context.status().message()));
      continue;
    }
    contexts[listener.name] = *std::move(context);
  }
  core::StringMap<std::shared_ptr<const tls::ClientContext>> pool_contexts;
  for (size_t i = 0; i < config.pools.size(); ++i) {
    const config::PoolConfig& pool = config.pools[i];
    if (!pool.tls.has_value()) continue;
    auto context = tls::ClientContext::create(*pool.tls);
    if (!context.ok()) {
      errors.push_back(
          absl::StrCat("pools[", i, "] (", pool.name, "): ", context.status().message()));
      continue;
    }
    pool_contexts[pool.name] = *std::move(context);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  tls_contexts_.swap(contexts);
  pool_tls_contexts_.swap(pool_contexts);
  return absl::OkStatus();
}

ConfigSnapshotPtr SnapshotBuilder::build(std::shared_ptr<const config::Config> config,
                                         const TrafficState* traffic,
                                         const BackendStateView* states) {
  auto snapshot = std::make_shared<ConfigSnapshot>();
  snapshot->generation = ++generation_;
  for (const config::ListenerConfig& listener : config->listeners) {
    ListenerSettings settings = listenerSettings(listener, workers_);
    // Ids are handed out in order, so the first configuration's ids are its indexes.
    const auto [id, added] =
        listener_ids_.try_emplace(listener.name, static_cast<uint32_t>(listener_ids_.size()));
    settings.id = id->second;
    std::shared_ptr<ListenerLimitState>& state = listener_limits_[listener.name];
    if (state == nullptr) state = std::make_shared<ListenerLimitState>(workers_);
    settings.limit_state = state;
    std::shared_ptr<tls::HandshakeStats>& tls_stats = listener_tls_stats_[listener.name];
    if (tls_stats == nullptr) tls_stats = std::make_shared<tls::HandshakeStats>(workers_);
    settings.tls_stats = tls_stats;
    if (listener.tls.has_value()) {
      auto found = tls_contexts_.find(listener.name);
      if (found != tls_contexts_.end()) settings.tls = found->second;
    }
    snapshot->listeners.push_back(std::move(settings));
  }
  for (const config::PoolConfig& pool : config->pools) {
    snapshot->pools.push_back(poolFor(config, pool, states));
  }
  // The loader guarantees that every pool a route or rule names exists; the traffic state only
  // names pools of the configuration it was reconciled with.
  auto indexOf = [&snapshot](const std::string& pool) {
    const int index = snapshot->poolIndex(pool);
    return index >= 0 ? static_cast<uint32_t>(index) : 0;
  };
  std::vector<Route> routes;
  for (const config::RouteConfig& route_config : config->routes) {
    Route route;
    route.name = route_config.name;
    for (const std::string& host : route_config.hosts)
      route.hosts.push_back(HostMatcher::parse(host));
    for (const std::string& name : route_config.sni) route.sni.push_back(SniMatcher::parse(name));
    route.path_prefix = route_config.path_prefix;
    route.retries = route_config.retries;
    const RouteTraffic* state = traffic != nullptr ? traffic->find(route_config.name) : nullptr;
    route.pool_index = indexOf(state != nullptr ? state->active : route_config.pool);
    std::string canary_pool;
    double canary_weight = 0;
    if (state != nullptr) {
      canary_pool = state->canary_pool;
      canary_weight = state->canary_weight;
    } else if (route_config.canary) {
      canary_pool = route_config.canary->pool;
      canary_weight = route_config.canary->weight;
    }
    if (!canary_pool.empty() && canary_weight > 0) {
      route.canary_pool_index = static_cast<int32_t>(indexOf(canary_pool));
      route.canary_ppm = static_cast<uint32_t>(std::llround(canary_weight * 10000.0));
    }
    for (const config::MatchRuleConfig& rule : route_config.rules) {
      route.rules.push_back(
          MatchRule{rule.source, rule.op, rule.name, rule.value, indexOf(rule.pool)});
    }
    route.sticky = route_config.sticky;
    route.split_seed = core::stableHash(route_config.name);
    route.pool_header = route_config.pool_header;
    route.shaping = buildRouteShaping(route_config);
    if (route_config.rate_limit) {
      // The zone keeps this route's buckets apart from the listener's (zone 0).
      route.rate_limit =
          rateLimit(*route_config.rate_limit, route_config.rate_limit_burst, route.split_seed | 1);
    }
    route.max_body_bytes = route_config.max_body;
    if (route_config.request_id) {
      route.request_id_header =
          requestIdSettings(*route_config.request_id, config::RequestIdMode::kIfAbsent);
    }
    if (route_config.request_id_mode) {
      route.request_id_always = *route_config.request_id_mode == config::RequestIdMode::kAlways;
    }
    std::string mirror_pool;
    double mirror_percent = 0;
    if (state != nullptr) {
      mirror_pool = state->mirror_pool;
      mirror_percent = state->mirror_percent;
    } else if (route_config.mirror) {
      mirror_pool = route_config.mirror->pool;
      mirror_percent = route_config.mirror->percent;
    }
    if (!mirror_pool.empty() && mirror_percent > 0) {
      auto mirror = std::make_shared<config::MirrorConfig>(
          route_config.mirror ? *route_config.mirror : config::MirrorConfig{});
      mirror->pool = mirror_pool;
      mirror->percent = mirror_percent;
      route.mirror = std::move(mirror);
      route.mirror_pool_index = static_cast<int32_t>(indexOf(mirror_pool));
      route.mirror_ppm = static_cast<uint32_t>(std::llround(mirror_percent * 10000.0));
      // Picked up by the per-pool loop below, as mirror_stats_by_pool[mirror_pool_index].
      std::shared_ptr<MirrorStats>& stats =
          mirror_stats_[absl::StrCat(route_config.name, "\n", mirror_pool)];
      if (stats == nullptr) stats = std::make_shared<MirrorStats>(workers_);
    }
    for (const auto& pool : snapshot->pools) {
      std::shared_ptr<RoutePoolStats>& stats =
          route_stats_[absl::StrCat(route_config.name, "\n", pool->name)];
      if (stats == nullptr) stats = std::make_shared<RoutePoolStats>(workers_);
      route.stats_by_pool.push_back(stats);
      auto mirror_stats = mirror_stats_.find(absl::StrCat(route_config.name, "\n", pool->name));
      route.mirror_stats_by_pool.push_back(
          mirror_stats == mirror_stats_.end() ? nullptr : mirror_stats->second);
    }
    routes.push_back(std::move(route));
  }
  snapshot->routes = RouteTable(std::move(routes));
  prune(*snapshot);
  snapshot->config = std::move(config);
  return snapshot;
}

}  // namespace sy::routing
