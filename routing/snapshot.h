#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/net_address.h"
#include "core/strings.h"
#include "http/http1_parser.h"
#include "http/path_normalizer.h"
#include "routing/backend_state.h"
#include "routing/client_limit_settings.h"
#include "routing/config/model.h"
#include "routing/route_table.h"
#include "routing/traffic_state.h"
#include "tls/handshake_stats.h"
#include "tls/server_context.h"
#include "upstream/pool.h"

namespace sy::routing {

// A listener's HTTP/2 limits (the http2_* keys of config::ListenerConfig).
struct Http2Limits {
  uint32_t max_concurrent_streams = 128;
  uint32_t max_header_list_size = 65536;
  uint32_t hpack_table_size = 4096;           // the requests' table (our SETTINGS)
  uint32_t response_hpack_table_size = 4096;  // the most our responses' table may use
  uint32_t max_resets = 1000;
  uint64_t reset_interval_ms = 30000;
  uint64_t stall_timeout_ms = 30000;
};

struct ListenerSettings {
  std::string name;
  // Stable across reloads for the same listener name (SnapshotBuilder): workers find their
  // sockets' and connections' settings by it while reloads add and remove listeners.
  uint32_t id = 0;
  core::NetAddress address;
  http::ParserLimits limits;
  uint64_t header_timeout_ms = 10000;
  uint64_t keepalive_timeout_ms = 75000;
  uint64_t client_timeout_ms = 60000;
  bool abort_on_client_close = true;
  bool proxy_protocol = false;  // a PROXY header before anything else (core/proxy_protocol.h)
  bool http2 = false;           // HTTP/2 from clients (proxy/h2_connection.h)
  Http2Limits http2_limits;     // applied by proxy/h2_limits.h
  http::PathOptions path;
  bool reject_unnormalized_paths = false;  // path_normalization = "reject"
  ClientLimitSettings client_limits;
  std::shared_ptr<ListenerLimitState> limit_state;  // never null in a built snapshot
  // Set: the listener terminates TLS with these certificates (SnapshotBuilder::loadTls).
  std::shared_ptr<const tls::ServerContext> tls;
  // Handshake figures (switchyard_tls_*); kept per listener name across reloads, never null in
  // a built snapshot (a listener that gains tls on a reload counts from then on).
  std::shared_ptr<tls::HandshakeStats> tls_stats;
  // A plain listener that answers every request with a 308 to HTTPS (no routing).
  bool redirect_to_https = false;
  uint16_t https_port = 443;
  // The largest request body (max_body), 0 for no limit; a route's replaces it.
  uint64_t max_body_bytes = 0;
  RequestIdSettings request_id;
};

// Everything a worker needs to route and forward a request, frozen at one generation. Built on
// the control thread, published with one pointer swap, never modified afterwards: any thread may
// read it and the last user frees it. It holds no libuv handles and no per-worker state.
struct ConfigSnapshot {
  uint64_t generation = 0;
  std::shared_ptr<const config::Config> config;
  std::vector<ListenerSettings> listeners;  // same order as config->listeners
  std::vector<std::shared_ptr<const upstream::PoolSnapshot>> pools;
  RouteTable routes;

  // Index into `pools`, or -1.
  int poolIndex(std::string_view name) const;
};

using ConfigSnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

// Turns configurations into snapshots on the control thread, keeping pool and backend ids
// stable across reloads (same pool name -> same pool id; same pool and address -> same
// backend id), so that workers keep their connection pools for backends that did not change.
//
// Pools are rebuilt only when something about them changed: a switch or canary change reuses
// every PoolSnapshot of the configuration in force, so workers keep their balancers as they are
// and a flip costs one pointer swap per worker.
class SnapshotBuilder {
 public:
  // Backend stats get one slot per worker.
  void setWorkerCount(size_t workers) { workers_ = workers; }

  // Routes start from `traffic` (active pool, canary); without it, from the file. Backends
  // are eligible according to `states`; without it, all are.
  ConfigSnapshotPtr build(std::shared_ptr<const config::Config> config,
                          const TrafficState* traffic = nullptr,
                          const BackendStateView* states = nullptr);
  uint64_t lastGeneration() const { return generation_; }

  // Reads the certificates of every TLS listener and TLS pool of `config` and builds their
  // contexts, which the following build() calls put in their snapshots. On any error nothing
  // changes (the contexts in force stay) and the errors are returned, one per listener or
  // pool, for the reload's refusal. Call it whenever a configuration is (re)loaded: that is when
  // certificates are re-read.
  absl::Status loadTls(const config::Config& config);
  // The TLS context of listener `name` as loadTls() last built it; null for a plain listener.
  std::shared_ptr<const tls::ServerContext> listenerTls(const std::string& name) const {
    auto found = tls_contexts_.find(name);
    return found == tls_contexts_.end() ? nullptr : found->second;
  }
  // The TLS context of pool `name` as loadTls() last built it; null for a pool without `tls`.
  // Health checks of the pool use it, so they speak TLS exactly as requests do.
  std::shared_ptr<const tls::ClientContext> poolTls(const std::string& name) const {
    auto found = pool_tls_contexts_.find(name);
    return found == pool_tls_contexts_.end() ? nullptr : found->second;
  }

 private:
  std::shared_ptr<const upstream::PoolSnapshot> buildPool(const config::PoolConfig& pool,
                                                          const BackendStateView* states);
  void prune(const ConfigSnapshot& snapshot);
  std::shared_ptr<const upstream::PoolSnapshot> poolFor(
      const std::shared_ptr<const config::Config>& config, const config::PoolConfig& pool,
      const BackendStateView* states);

  // The pools built for the configuration object `pools_config_` (a reload always creates a new
  // Config object; holding it keeps its address from being reused).
  std::shared_ptr<const config::Config> pools_config_;
  struct CachedPool {
    std::shared_ptr<const upstream::PoolSnapshot> pool;
    uint64_t state_version = 0;
  };
  core::StringMap<CachedPool> pools_;

  size_t workers_ = 1;
  uint64_t generation_ = 0;
  uint64_t next_id_ = 1;
  core::StringMap<uint64_t> pool_ids_;
  // Keyed by "pool\naddress".
  core::StringMap<std::shared_ptr<const upstream::BackendInfo>> backends_;
  // Figures that outlive snapshots, by pool name and by "route\npool".
  core::StringMap<std::shared_ptr<upstream::PoolStats>> pool_stats_;
  core::StringMap<std::shared_ptr<RoutePoolStats>> route_stats_;
  core::StringMap<std::shared_ptr<MirrorStats>> mirror_stats_;
  // By listener name (a listener that a reload removes and a later one adds again counts on).
  core::StringMap<std::shared_ptr<ListenerLimitState>> listener_limits_;
  core::StringMap<uint32_t> listener_ids_;
  core::StringMap<std::shared_ptr<tls::HandshakeStats>> listener_tls_stats_;
  // By listener name; a listener without TLS has no entry.
  core::StringMap<std::shared_ptr<const tls::ServerContext>> tls_contexts_;
  // By pool name; a pool without TLS has no entry.
  core::StringMap<std::shared_ptr<const tls::ClientContext>> pool_tls_contexts_;
};

}  // namespace sy::routing
