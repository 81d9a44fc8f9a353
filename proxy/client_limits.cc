#include "proxy/client_limits.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "core/strings.h"

namespace sy::proxy {
bool isTrustedProxy(const core::IpAddress& address, const std::vector<core::IpPrefix>& trusted) {
  for (const core::IpPrefix& prefix : trusted) {
    if (prefix.contains(address)) return true;
  }
  return false;
}

ConnectionTicket& ConnectionTicket::operator=(ConnectionTicket&& other) noexcept {
  if (this != &other) {
    release();
    limits_ = other.limits_;
    state_ = std::move(other.state_);
    listener_index_ = other.listener_index_;
    address_ = other.address_;
    address_counted_ = other.address_counted_;
    peer_v6_socket_ = other.peer_v6_socket_;
    other.limits_ = nullptr;
    other.state_ = nullptr;
  }
  return *this;
}

void ConnectionTicket::release() {
  if (limits_ == nullptr || state_ == nullptr) return;
  limits_->releaseConnection(listener_index_, *state_, address_, address_counted_);
  limits_ = nullptr;
  state_ = nullptr;
}

ClientLimits::ListenerTables& ClientLimits::tables(uint32_t listener_index) {
  if (listener_index >= tables_.size()) tables_.resize(listener_index + 1);
  std::unique_ptr<ListenerTables>& tables = tables_[listener_index];
  if (tables == nullptr) tables = std::make_unique<ListenerTables>(1);
  return *tables;
}

std::optional<routing::LimitReason> ClientLimits::admit(uint32_t listener_index,
                                                        const routing::ListenerSettings& listener,
                                                        const sockaddr* peer,
                                                        ConnectionTicket* ticket) {
  routing::ListenerLimitState& state = *listener.limit_state;
  routing::ListenerLimitWorkerStats& stats = state.slot(worker_index_);
  const routing::ClientLimitSettings& limits = listener.client_limits;
  // Always counted, so that a reload that sets max_connections finds the true figure.
  const uint32_t open = state.open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
  if (limits.max_connections > 0 && open > limits.max_connections) {
    state.open_connections.fetch_sub(1, std::memory_order_relaxed);
    stats.limited[static_cast<size_t>(routing::LimitReason::kConnLimit)].add();
    return routing::LimitReason::kConnLimit;
  }
  const core::IpAddress address = core::IpAddress::fromSockaddr(peer);
  bool address_counted = false;
  if (!countAddress(listener_index, listener, address, &address_counted)) {
    state.open_connections.fetch_sub(1, std::memory_order_relaxed);
    return routing::LimitReason::kIpConnLimit;
  }
  ticket->limits_ = this;
  ticket->state_ = listener.limit_state;
  ticket->listener_index_ = listener_index;
  ticket->address_ = address;
  ticket->address_counted_ = address_counted;
  ticket->peer_v6_socket_ = peer->sa_family == AF_INET6;
  return std::nullopt;
}

bool ClientLimits::countAddress(uint32_t listener_index, const routing::ListenerSettings& listener,
                                const core::IpAddress& address, bool* counted) {
  const routing::ClientLimitSettings& limits = listener.client_limits;
  *counted = false;
  // A trusted proxy carries many clients on its connections: its own address is not limited.
  if (limits.max_connections_per_ip == 0 || isTrustedProxy(address, limits.trusted_proxies)) {
    return true;
  }
  routing::ListenerLimitWorkerStats& stats = listener.limit_state->slot(worker_index_);
  ListenerTables& t = tables(listener_index);
  uint32_t& count = t.connections[address];
  if (count >= limits.max_connections_per_ip) {
    stats.limited[static_cast<size_t>(routing::LimitReason::kIpConnLimit)].add();
    return false;
  }
  ++count;
  *counted = true;
  stats.connection_table_entries.set(t.connections.size());
  return true;
}

std::optional<routing::LimitReason> ClientLimits::admitClient(
    const routing::ListenerSettings& listener, const core::IpAddress& client,
    ConnectionTicket* ticket) {
  // A ticket from another worker's tables, or one already counted, is left as it is.
  if (ticket->limits_ != this || ticket->address_counted_) return std::nullopt;
  bool counted = false;
  if (!countAddress(ticket->listener_index_, listener, client, &counted)) {
    return routing::LimitReason::kIpConnLimit;
  }
  ticket->address_ = client;
  ticket->address_counted_ = counted;
  return std::nullopt;
}

void ClientLimits::releaseConnection(uint32_t listener_index, routing::ListenerLimitState& state,
                                     const core::IpAddress& address, bool address_counted) {
  state.open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (!address_counted) return;
  ListenerTables& t = tables(listener_index);
  auto it = t.connections.find(address);
  if (it == t.connections.end()) return;
  if (--it->second == 0) t.connections.erase(it);
  state.slot(worker_index_).connection_table_entries.set(t.connections.size());
}

bool ClientLimits::rateLimited(const routing::ListenerSettings& listener,
                               const routing::Route* route) {
  const std::optional<routing::RateLimit>& limit =
      route != nullptr && route->rate_limit ? route->rate_limit : listener.client_limits.rate;
  return limit && limit->rate > 0;
}

RateVerdict ClientLimits::checkRequest(uint32_t listener_index,
                                       const routing::ListenerSettings& listener,
                                       const routing::Route* route, const sockaddr* peer,
                                       const http::HeaderBlock& headers, uint64_t now_ns) {
  const routing::ClientLimitSettings& limits = listener.client_limits;
  if (!rateLimited(listener, route)) return {};
  const std::optional<routing::RateLimit>& limit =
      route != nullptr && route->rate_limit ? route->rate_limit : limits.rate;
  const core::IpAddress client =
      clientAddress(core::IpAddress::fromSockaddr(peer), headers, limits.trusted_proxies);
  ListenerTables& t = tables(listener_index);
  if (t.buckets.capacity() != limits.table_entries_per_worker) {
    t.buckets.setCapacity(limits.table_entries_per_worker);
  }
  core::TokenBucket& bucket = t.buckets.findOrInsert(
      BucketKey{client, limit->zone}, [&] { return core::TokenBucket(limit->burst, now_ns); });
  routing::ListenerLimitWorkerStats& stats = listener.limit_state->slot(worker_index_);
  stats.rate_table_entries.set(t.buckets.size());
  uint64_t wait_ns = 0;
  if (bucket.take(limit->rate, limit->burst, now_ns, &wait_ns)) return {};
  stats.limited[static_cast<size_t>(routing::LimitReason::kRateLimit)].add();
  // Whole seconds, rounded up: retrying earlier would be refused again. The bucket rounds its
  // wait up by a hair; a millisecond's slack keeps 2.000000001 s from becoming 3.
  constexpr uint64_t kSlackNs = 1000000;
  const double seconds =
      std::ceil(static_cast<double>(wait_ns - std::min(wait_ns, kSlackNs)) * 1e-9);
  return {false, static_cast<uint32_t>(std::clamp(seconds, 1.0, 86400.0))};
}

core::IpAddress clientAddress(const core::IpAddress& peer, const http::HeaderBlock& headers,
                              const std::vector<core::IpPrefix>& trusted) {
  if (trusted.empty() || !isTrustedProxy(peer, trusted)) return peer;
  core::IpAddress client = peer;
  // Fields in reverse order, entries in each from the right: the nearest hop first.
  for (size_t field = headers.size(); field-- > 0;) {
    if (!core::equalsIgnoreCase(headers.name(field), "x-forwarded-for")) continue;
    std::string_view value = headers.value(field);
    while (true) {
      const size_t comma = value.rfind(',');
      const absl::string_view stripped = absl::StripAsciiWhitespace(
          core::toAbsl(comma == std::string_view::npos ? value : value.substr(comma + 1)));
      const std::string_view entry(stripped.data(), stripped.size());
      std::optional<core::IpAddress> hop = core::IpAddress::parse(entry);
      if (!hop) return client;  // unusable: the last hop we could read is as far as we trust
      client = *hop;
      if (!isTrustedProxy(client, trusted)) return client;
      if (comma == std::string_view::npos) break;
      value = value.substr(0, comma);
    }
  }
  return client;
}

}  // namespace sy::proxy
