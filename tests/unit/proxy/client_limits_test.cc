// One worker's client limits without sockets: connection counting at accept, token buckets per
// client address (and per route), the bounded table, and which address X-Forwarded-For names.

#include "proxy/client_limits.h"

#include <netinet/in.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace sy::proxy {
namespace {

constexpr uint64_t kSecond = 1000000000;

core::IpAddress ip(std::string_view text) { return *core::IpAddress::parse(text); }

sockaddr_in peer(uint32_t v4) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(v4);
  return address;
}
const sockaddr* as(const sockaddr_in& address) {
  return reinterpret_cast<const sockaddr*>(&address);
}

http::HeaderBlock headers(const std::vector<std::pair<std::string, std::string>>& fields) {
  http::HeaderBlock block;
  for (const auto& [name, value] : fields) {
    block.appendName(name.data(), name.size());
    block.appendValue(value.data(), value.size());
    block.finishValue();
  }
  return block;
}

std::vector<core::IpPrefix> prefixes(std::initializer_list<std::string_view> texts) {
  std::vector<core::IpPrefix> out;
  for (std::string_view text : texts) out.push_back(*core::IpPrefix::parse(text));
  return out;
}

routing::ListenerSettings listener() {
  routing::ListenerSettings settings;
  settings.name = "http";
  settings.limit_state = std::make_shared<routing::ListenerLimitState>(1);
  return settings;
}

uint64_t limited(const routing::ListenerSettings& settings, routing::LimitReason reason) {
  return settings.limit_state->slot(0).limited[static_cast<size_t>(reason)].get();
}

TEST(ClientLimitsTest, ListenerCapRefusesBeyondItAndFreesOnRelease) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.max_connections = 2;
  ClientLimits limits(0);
  const sockaddr_in a = peer(0x7f000002);
  ConnectionTicket first, second, third;
  EXPECT_FALSE(limits.admit(0, settings, as(a), &first));
  EXPECT_FALSE(limits.admit(0, settings, as(a), &second));
  EXPECT_EQ(limits.admit(0, settings, as(a), &third), routing::LimitReason::kConnLimit);
  EXPECT_EQ(settings.limit_state->open_connections.load(), 2u);
  EXPECT_EQ(limited(settings, routing::LimitReason::kConnLimit), 1u);
  first.release();
  EXPECT_EQ(settings.limit_state->open_connections.load(), 1u);
  EXPECT_FALSE(limits.admit(0, settings, as(a), &third));
  {
    ConnectionTicket moved = std::move(third);  // the moved-from ticket gives back nothing
  }
  EXPECT_EQ(settings.limit_state->open_connections.load(), 1u);
}

TEST(ClientLimitsTest, BehindAProxyHeaderTheNamedClientIsCountedNotTheProxy) {
  routing::ListenerSettings settings = listener();
  settings.proxy_protocol = true;
  settings.client_limits.max_connections_per_ip = 1;
  settings.client_limits.trusted_proxies = prefixes({"127.0.0.2"});
  ClientLimits limits(0);
  const sockaddr_in proxy = peer(0x7f000002);
  ConnectionTicket first, second, third;
  // The proxy is exempt at accept, however many connections it carries.
  ASSERT_FALSE(limits.admit(0, settings, as(proxy), &first));
  ASSERT_FALSE(limits.admit(0, settings, as(proxy), &second));
  ASSERT_FALSE(limits.admit(0, settings, as(proxy), &third));
  // The clients its headers name are not.
  EXPECT_FALSE(limits.admitClient(settings, ip("203.0.113.1"), &first));
  EXPECT_EQ(limits.admitClient(settings, ip("203.0.113.1"), &second),
            routing::LimitReason::kIpConnLimit);
  EXPECT_EQ(limited(settings, routing::LimitReason::kIpConnLimit), 1u);
  EXPECT_FALSE(limits.admitClient(settings, ip("203.0.113.2"), &third));
  // A header naming a trusted proxy (a chain) is exempt like the proxy.
  EXPECT_FALSE(limits.admitClient(settings, ip("127.0.0.2"), &second));
  EXPECT_EQ(settings.limit_state->slot(0).connection_table_entries.get(), 2u);
  first.release();  // gives back 203.0.113.1
  ConnectionTicket fourth;
  ASSERT_FALSE(limits.admit(0, settings, as(proxy), &fourth));
  EXPECT_FALSE(limits.admitClient(settings, ip("203.0.113.1"), &fourth));
  second.release();
  third.release();
  fourth.release();
  EXPECT_EQ(settings.limit_state->open_connections.load(), 0u);
  EXPECT_EQ(settings.limit_state->slot(0).connection_table_entries.get(), 0u);
}

TEST(ClientLimitsTest, PerAddressCapLeavesOtherAddressesAlone) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.max_connections_per_ip = 2;
  ClientLimits limits(0);
  const sockaddr_in a = peer(0x7f000002);
  const sockaddr_in b = peer(0x7f000003);
  std::vector<ConnectionTicket> tickets(5);
  EXPECT_FALSE(limits.admit(0, settings, as(a), &tickets[0]));
  EXPECT_FALSE(limits.admit(0, settings, as(a), &tickets[1]));
  EXPECT_EQ(limits.admit(0, settings, as(a), &tickets[2]), routing::LimitReason::kIpConnLimit);
  EXPECT_FALSE(limits.admit(0, settings, as(b), &tickets[3]));
  EXPECT_EQ(settings.limit_state->slot(0).connection_table_entries.get(), 2u);
  EXPECT_EQ(limited(settings, routing::LimitReason::kIpConnLimit), 1u);
  // A refused connection does not count as open.
  EXPECT_EQ(settings.limit_state->open_connections.load(), 3u);
  tickets[0].release();
  EXPECT_FALSE(limits.admit(0, settings, as(a), &tickets[4]));
  tickets.clear();
  // Addresses without connections leave the table.
  EXPECT_EQ(settings.limit_state->slot(0).connection_table_entries.get(), 0u);
  EXPECT_EQ(settings.limit_state->open_connections.load(), 0u);
}

TEST(ClientLimitsTest, TrustedProxiesAreExemptFromThePerAddressCap) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.max_connections_per_ip = 1;
  settings.client_limits.trusted_proxies = prefixes({"127.0.0.0/24"});
  ClientLimits limits(0);
  const sockaddr_in proxy = peer(0x7f000001);
  std::vector<ConnectionTicket> tickets(3);
  for (ConnectionTicket& ticket : tickets)
    EXPECT_FALSE(limits.admit(0, settings, as(proxy), &ticket));
}

TEST(ClientLimitsTest, RateLimitRefusesBeyondTheBurstPerAddressAndSaysWhenToRetry) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.rate = routing::RateLimit{.rate = 0.5, .burst = 2, .zone = 0};
  ClientLimits limits(0);
  const sockaddr_in a = peer(0x7f000002);
  const sockaddr_in b = peer(0x7f000003);
  const http::HeaderBlock none;
  const uint64_t t0 = 100 * kSecond;
  EXPECT_TRUE(limits.checkRequest(0, settings, nullptr, as(a), none, t0).allowed);
  EXPECT_TRUE(limits.checkRequest(0, settings, nullptr, as(a), none, t0).allowed);
  const RateVerdict refused = limits.checkRequest(0, settings, nullptr, as(a), none, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 2u);  // one token every 2 s
  EXPECT_TRUE(limits.checkRequest(0, settings, nullptr, as(b), none, t0).allowed);
  EXPECT_TRUE(limits.checkRequest(0, settings, nullptr, as(a), none, t0 + 2 * kSecond).allowed);
  EXPECT_EQ(limited(settings, routing::LimitReason::kRateLimit), 1u);
  EXPECT_EQ(settings.limit_state->slot(0).rate_table_entries.get(), 2u);
}

TEST(ClientLimitsTest, ARouteRateReplacesTheListenersAndKeepsItsOwnBuckets) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.rate = routing::RateLimit{.rate = 1, .burst = 1, .zone = 0};
  routing::Route strict;
  strict.rate_limit = routing::RateLimit{.rate = 1, .burst = 3, .zone = 77};
  routing::Route exempt;
  exempt.rate_limit = routing::RateLimit{.rate = 0, .burst = 1, .zone = 78};
  ClientLimits limits(0);
  const sockaddr_in a = peer(0x7f000002);
  const http::HeaderBlock none;
  EXPECT_TRUE(limits.checkRequest(0, settings, nullptr, as(a), none, 0).allowed);
  EXPECT_FALSE(limits.checkRequest(0, settings, nullptr, as(a), none, 0).allowed);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limits.checkRequest(0, settings, &strict, as(a), none, 0).allowed) << i;
  }
  EXPECT_FALSE(limits.checkRequest(0, settings, &strict, as(a), none, 0).allowed);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(limits.checkRequest(0, settings, &exempt, as(a), none, 0).allowed);
  }
}

TEST(ClientLimitsTest, TheBucketTableStaysWithinItsSize) {
  routing::ListenerSettings settings = listener();
  settings.client_limits.rate = routing::RateLimit{.rate = 1, .burst = 1, .zone = 0};
  settings.client_limits.table_entries_per_worker = 1000;
  ClientLimits limits(0);
  const http::HeaderBlock none;
  for (uint32_t i = 1; i <= 100000; ++i) {
    const sockaddr_in source = peer(0x7f000000 + i);
    ASSERT_TRUE(limits.checkRequest(0, settings, nullptr, as(source), none, 0).allowed);
    ASSERT_LE(settings.limit_state->slot(0).rate_table_entries.get(), 1000u);
  }
  EXPECT_EQ(settings.limit_state->slot(0).rate_table_entries.get(), 1000u);
}

TEST(ClientAddressTest, UntrustedPeersAreTheClientWhateverTheySay) {
  const http::HeaderBlock forged = headers({{"X-Forwarded-For", "203.0.113.7"}});
  EXPECT_EQ(clientAddress(ip("198.51.100.1"), forged, {}), ip("198.51.100.1"));
  EXPECT_EQ(clientAddress(ip("198.51.100.1"), forged, prefixes({"10.0.0.0/8"})),
            ip("198.51.100.1"));
}

TEST(ClientAddressTest, FromATrustedPeerTheRightmostUntrustedHopIsTheClient) {
  const auto trusted = prefixes({"10.0.0.0/8", "2001:db8::/32"});
  // The client forged the leftmost entry; the trusted proxy appended what it saw.
  EXPECT_EQ(
      clientAddress(ip("10.0.0.1"),
                    headers({{"X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.1.1.1"}}), trusted),
      ip("203.0.113.7"));
  // Several fields are one list, in order (RFC 9110 §5.3).
  EXPECT_EQ(clientAddress(ip("10.0.0.1"),
                          headers({{"x-forwarded-for", "198.51.100.9"},
                                   {"Accept", "*/*"},
                                   {"X-FORWARDED-FOR", " 10.2.2.2 ,2001:db8::5"}}),
                          trusted),
            ip("198.51.100.9"));
  // No header: the proxy itself.
  EXPECT_EQ(clientAddress(ip("10.0.0.1"), headers({}), trusted), ip("10.0.0.1"));
  // Every hop trusted: the leftmost.
  EXPECT_EQ(
      clientAddress(ip("10.0.0.1"), headers({{"X-Forwarded-For", "10.9.9.9, 10.8.8.8"}}), trusted),
      ip("10.9.9.9"));
  // Garbage stops the walk at the last hop that could be read.
  EXPECT_EQ(
      clientAddress(ip("10.0.0.1"),
                    headers({{"X-Forwarded-For", "203.0.113.7, unknown, 10.3.3.3"}}), trusted),
      ip("10.3.3.3"));
  EXPECT_EQ(clientAddress(ip("10.0.0.1"), headers({{"X-Forwarded-For", ""}}), trusted),
            ip("10.0.0.1"));
}

}  // namespace
}  // namespace sy::proxy
