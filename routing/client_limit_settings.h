#pragma once

// Limits against abusive clients as the snapshot holds them (configured per listener, with
// route-level rate overrides), and the figures they produce.
//
// Where the state lives: the listener's connection count is one atomic per listener shared by
// the workers (touched once per accept and once per close, never per request). Per-client
// tables (connections and token buckets per address) are per worker and lock-free, like
// everything else on the request path: see proxy/client_limits.h for what that means for the
// effective limits.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/ip_address.h"
#include "core/local_counter.h"
#include "core/per_worker.h"

namespace sy::routing {

// Requests per second per client address with a bucket of `burst` requests. `rate` 0 means no
// limit (a route's 0 exempts it from its listener's limit).
struct RateLimit {
  double rate = 0;
  double burst = 1;
  // Buckets of different rate limits never mix: 0 for the listener's, a hash of the route name
  // for a route's own.
  uint64_t zone = 0;
};

struct ClientLimitSettings {
  uint32_t max_connections = 0;         // 0: none
  uint32_t max_connections_per_ip = 0;  // 0: none
  std::optional<RateLimit> rate;        // none: no listener-wide rate limit
  size_t table_entries_per_worker = 100000;
  std::vector<core::IpPrefix> trusted_proxies;
};

// Why a connection or request was refused; the metric's reason label.
enum class LimitReason { kConnLimit, kIpConnLimit, kRateLimit };
inline constexpr size_t kLimitReasons = 3;
inline const char* limitReasonName(LimitReason reason) {
  switch (reason) {
    case LimitReason::kConnLimit:
      return "conn_limit";
    case LimitReason::kIpConnLimit:
      return "ip_conn_limit";
    case LimitReason::kRateLimit:
      return "rate_limit";
  }
  return "unknown";
}

// Why a connection on a proxy_protocol listener was closed before its PROXY header was
// accepted; the reason label of switchyard_proxy_protocol_rejected_total.
enum class ProxyRejectReason { kUntrusted, kMissing, kMalformed, kTimeout, kClosed };
inline constexpr size_t kProxyRejectReasons = 5;
inline const char* proxyRejectReasonName(ProxyRejectReason reason) {
  switch (reason) {
    case ProxyRejectReason::kUntrusted:
      return "untrusted";
    case ProxyRejectReason::kMissing:
      return "missing";
    case ProxyRejectReason::kMalformed:
      return "malformed";
    case ProxyRejectReason::kTimeout:
      return "timeout";
    case ProxyRejectReason::kClosed:
      return "closed";
  }
  return "unknown";
}

struct alignas(64) ListenerLimitWorkerStats {
  core::LocalCounter limited[kLimitReasons];               // by LimitReason
  core::LocalCounter proxy_rejected[kProxyRejectReasons];  // by ProxyRejectReason
  core::LocalCounter rate_table_entries;                   // gauge: addresses with a token bucket
  core::LocalCounter connection_table_entries;  // gauge: addresses with open connections counted
};

// One listener's shared limit state; the snapshot builder keeps one per listener name, so it
// survives reloads (connections accepted before a reload still count after it).
class ListenerLimitState : public core::PerWorker<ListenerLimitWorkerStats> {
 public:
  using PerWorker::PerWorker;

  // Open client connections of the listener, all workers together.
  std::atomic<uint32_t> open_connections{0};
};

}  // namespace sy::routing
