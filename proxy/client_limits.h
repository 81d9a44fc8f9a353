#pragma once

// Limits against abusive clients, applied by one worker: the listener's connection cap and
// per-client-address connection and request-rate limits (like nginx's limit_conn and
// limit_req, or HAProxy's maxconn and stick-table rates). Settings come from the snapshot
// (routing/client_limit_settings.h); conf/REFERENCE.md documents them.
//
// Per-worker tables, no lock. nginx keeps its limit_req/limit_conn zones in shared memory
// behind a mutex and HAProxy shares its stick tables; here each worker keeps its own tables
// because the request path takes no lock. The effect, with W workers: the listener's
// max_connections is exact (one atomic per listener, touched at accept and close only), but a
// per-address limit holds per worker. A client whose connections the kernel spreads over the
// workers (SO_REUSEPORT hashes each connection's address and port) can reach up to W times
// max_connections_per_ip and W times the rate; a client on one connection (the usual
// keep-alive client) meets the configured figures exactly. Dividing the figures by W instead
// would cut such a client to 1/W of its allowance, which is the worse error. For exact
// per-address limits, run one worker.
//
// Memory: the token buckets of a listener sit in an LRU table of client_table_size / W entries
// per worker, so a flood of distinct (or forged) addresses evicts old entries instead of
// growing the table; an evicted address starts again with a full bucket. Connection counts
// hold only addresses with a connection open, so they are bounded by the open connections.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/ip_address.h"
#include "core/lru_table.h"
#include "core/token_bucket.h"
#include "http/header_block.h"
#include "routing/route_table.h"
#include "routing/snapshot.h"

namespace sy::proxy {

class ClientLimits;

// What admit() counted for one connection; given back when the connection ends (destructor).
class ConnectionTicket {
 public:
  ConnectionTicket() = default;
  ~ConnectionTicket() { release(); }
  ConnectionTicket(ConnectionTicket&& other) noexcept { *this = std::move(other); }
  ConnectionTicket& operator=(ConnectionTicket&& other) noexcept;
  void release();

  // Whether admit() filled this ticket (and it was not released yet).
  bool held() const { return state_ != nullptr; }
  // The address admit() saw (the socket's peer), or the client a PROXY header named once
  // admitClient() counted it. The connection formats its client IP from it rather than keeping
  // the text: every idle connection holds a ticket, not every one needs the text.
  const core::IpAddress& address() const { return address_; }
  // The socket was AF_INET6: an IPv4 client then reads ::ffff:a.b.c.d, as getpeername says.
  bool peerIsV6Socket() const { return peer_v6_socket_; }

 private:
  friend class ClientLimits;
  ClientLimits* limits_ = nullptr;
  std::shared_ptr<routing::ListenerLimitState> state_;
  uint32_t listener_index_ = 0;
  core::IpAddress address_;
  bool address_counted_ = false;
  bool peer_v6_socket_ = false;  // fits in the padding after address_counted_
};

// The verdict on one request: allowed, or refused with the seconds after which to retry
// (Retry-After, RFC 9110 §10.2.3).
struct RateVerdict {
  bool allowed = true;
  uint32_t retry_after_seconds = 0;
};

// One worker's limit tables, for every listener. Worker thread only.
class ClientLimits {
 public:
  explicit ClientLimits(uint32_t worker_index) : worker_index_(worker_index) {}
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  // At accept, before the connection exists: nullopt admits it and fills `ticket`; otherwise
  // the reason it is refused (counted in the listener's figures).
  std::optional<routing::LimitReason> admit(uint32_t listener_index,
                                            const routing::ListenerSettings& listener,
                                            const sockaddr* peer, ConnectionTicket* ticket);

  // On a proxy_protocol listener, once the PROXY header named the client: counts `client` for
  // max_connections_per_ip in the ticket admit() gave (which counted only the proxy, exempt as
  // trusted). nullopt admits; kIpConnLimit refuses (counted), and the caller closes.
  std::optional<routing::LimitReason> admitClient(const routing::ListenerSettings& listener,
                                                  const core::IpAddress& client,
                                                  ConnectionTicket* ticket);

  // When a request head is complete: the rate limit of `route` if it has one, else the
  // listener's. The client is the peer, or the address X-Forwarded-For names when the peer is a
  // trusted proxy (clientAddress()). `now_ns` is monotonic.
  // Whether a request on `route` has a rate limit at all: without one the caller need not look
  // up the peer's address (a getpeername(2) per request).
  static bool rateLimited(const routing::ListenerSettings& listener, const routing::Route* route);
  RateVerdict checkRequest(uint32_t listener_index, const routing::ListenerSettings& listener,
                           const routing::Route* route, const sockaddr* peer,
                           const http::HeaderBlock& headers, uint64_t now_ns);

 private:
  friend class ConnectionTicket;
  struct BucketKey {
    core::IpAddress address;
    uint64_t zone = 0;
    friend bool operator==(const BucketKey& a, const BucketKey& b) {
      return a.zone == b.zone && a.address == b.address;
    }
    template <typename H>
    friend H AbslHashValue(H state, const BucketKey& key) {
      return H::combine(std::move(state), key.address, key.zone);
    }
  };
  struct ListenerTables {
    explicit ListenerTables(size_t capacity) : buckets(capacity) {}
    absl::flat_hash_map<core::IpAddress, uint32_t> connections;
    core::LruTable<BucketKey, core::TokenBucket> buckets;
  };

  ListenerTables& tables(uint32_t listener_index);
  // max_connections_per_ip for `address`: true if counted or exempt, false if over the limit.
  bool countAddress(uint32_t listener_index, const routing::ListenerSettings& listener,
                    const core::IpAddress& address, bool* counted);
  void releaseConnection(uint32_t listener_index, routing::ListenerLimitState& state,
                         const core::IpAddress& address, bool address_counted);

  const uint32_t worker_index_;
  std::vector<std::unique_ptr<ListenerTables>> tables_;  // by listener id (ListenerSettings::id)
};

// Whether `address` is in one of the `trusted` prefixes.
bool isTrustedProxy(const core::IpAddress& address, const std::vector<core::IpPrefix>& trusted);

// The client of a request. From a peer in `trusted` the X-Forwarded-For fields (all of them,
// in order) are read from the right: the first address that is not a trusted proxy is the
// client, since every trusted hop appended the address it saw and only the part left of the
// untrusted hop may be forged. A field entry that is not an address ends the walk at the hop to
// its right. When every hop is trusted, the leftmost is the client. From any other peer, the
// peer (X-Forwarded-For is the client's own word then).
core::IpAddress clientAddress(const core::IpAddress& peer, const http::HeaderBlock& headers,
                              const std::vector<core::IpPrefix>& trusted);

}  // namespace sy::proxy
