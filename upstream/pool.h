#pragma once

// Immutable descriptions of pools and backends, shared by every worker through the published
// snapshot. A new snapshot is built whenever anything changes (reload, switch, health, drain);
// BackendInfo objects are reused while their definition is unchanged so that workers can keep
// per-backend state (connection pools, counters) keyed by the stable id.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/net_address.h"
#include "tls/client_context.h"
#include "upstream/backend_stats.h"
#include "upstream/balancer_kind.h"
#include "upstream/pool_stats.h"

namespace sy::upstream {

struct BackendInfo {
  uint64_t id = 0;  // stable across snapshots for the same pool name and address
  std::string pool;
  std::string address_text;
  core::NetAddress address;
  uint32_t weight = 1;  // 1..1000
  // Mutable figures shared with every worker (one slot each); never null in a snapshot.
  std::shared_ptr<BackendStats> stats;
};

struct PoolSettings {
  BalancerKind balancer = BalancerKind::kRoundRobin;
  std::optional<HashKeyConfig> hash_key;
  uint64_t connect_timeout_ms = 5000;
  uint64_t response_timeout_ms = 60000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t keepalive_timeout_ms = 60000;
  uint32_t keepalive_max_idle = 32;
  // Consecutive failures one worker sees on a backend before it reports it (passive health);
  // 0 disables the reports.
  uint32_t outlier_consecutive_failures = 0;
  // Set: connections to the backends speak TLS (the pool's `tls` table).
  std::shared_ptr<const tls::ClientContext> tls;
};

struct BackendEntry {
  std::shared_ptr<const BackendInfo> info;
  bool eligible = true;  // may receive new requests (healthy and not drained)
  // Drained or disabled by an operator: workers close its idle connections and stop pooling
  // new ones, so that it empties.
  bool draining = false;
};

class HashRing;

struct PoolSnapshot {
  uint64_t id = 0;  // stable for the pool name
  std::string name;
  PoolSettings settings;
  std::vector<BackendEntry> backends;
  std::vector<uint32_t> eligible;  // indices into `backends`
  bool panic = false;              // no backend was usable: `eligible` holds every ready one anyway
  std::shared_ptr<const HashRing> ring;  // set for the hash balancer, over `eligible`
  std::shared_ptr<PoolStats> stats;      // never null in a snapshot
};

}  // namespace sy::upstream
