// DnsResolver's SRV lookups against the test's authoritative server: the lowest priority's
// targets, their ports and weights (0 as 1, a shared address summed), the smallest TTL.

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/dns_test_server.h"
#include "upstream/dns_resolver.h"

namespace sy::upstream {
namespace {

using sy::testing::DnsTestServer;

absl::StatusOr<DnsResolver::Answer> srvLookup(const DnsTestServer& dns, const std::string& name) {
  return DnsResolver::resolveAll({{.name = name, .srv = true}}, {dns.address()}).front();
}

std::map<std::string, uint32_t> srvWeights(const DnsResolver::Answer& answer) {
  std::map<std::string, uint32_t> out;
  for (const core::NetAddress& address : answer.addresses) {
    out[address.toString()] = answer.weights.at(address.toString());
  }
  return out;
}

TEST(DnsResolverSrvTest, LowestPriorityTargetsWithTheirPortsAndWeights) {
  DnsTestServer dns;
  dns.setAddresses("a.srv.test", {"127.0.0.2"}, 30);
  dns.setAddresses("b.srv.test", {"127.0.0.3", "127.0.0.4"}, 7);
  dns.setAddresses("c.srv.test", {"127.0.0.5"}, 30);
  dns.setSrv("_http._tcp.app.srv.test",
             {{.target = "a.srv.test", .port = 8081, .weight = 0, .priority = 5},
              {.target = "b.srv.test", .port = 8082, .weight = 3, .priority = 5},
              {.target = "a.srv.test", .port = 8081, .weight = 2, .priority = 5},
              {.target = "c.srv.test", .port = 8083, .weight = 9, .priority = 6}},
             60);
  absl::StatusOr<DnsResolver::Answer> answer = srvLookup(dns, "_http._tcp.app.srv.test");
  ASSERT_TRUE(answer.ok()) << answer.status();
  // a twice (weights 0 -> 1, and 2): one backend weighing 3; c has a higher priority value.
  EXPECT_EQ(srvWeights(*answer),
            (std::map<std::string, uint32_t>{
                {"127.0.0.2:8081", 3}, {"127.0.0.3:8082", 3}, {"127.0.0.4:8082", 3}}));
  EXPECT_EQ(answer->ttl, absl::Seconds(7));  // b's A records
}

TEST(DnsResolverSrvTest, TheSrvRecordsTtlCountsAndWeightsAreCapped) {
  DnsTestServer dns;
  dns.setAddresses("a.srv.test", {"127.0.0.2"}, 60);
  dns.setSrv("_http._tcp.app.srv.test", {{.target = "a.srv.test", .port = 80, .weight = 60000}}, 3);
  absl::StatusOr<DnsResolver::Answer> answer = srvLookup(dns, "_http._tcp.app.srv.test");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(srvWeights(*answer), (std::map<std::string, uint32_t>{{"127.0.0.2:80", 1000}}));
  EXPECT_EQ(answer->ttl, absl::Seconds(3));
}

TEST(DnsResolverSrvTest, TargetsWithoutAddressesAndUnknownRecordsAreNotFound) {
  DnsTestServer dns;
  dns.setAddresses("a.srv.test", {"127.0.0.2"}, 60);
  // One target unknown to the server: the other still counts.
  dns.setSrv("_http._tcp.app.srv.test",
             {{.target = "nowhere.srv.test", .port = 81}, {.target = "a.srv.test", .port = 80}}, 5);
  absl::StatusOr<DnsResolver::Answer> answer = srvLookup(dns, "_http._tcp.app.srv.test");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(srvWeights(*answer), (std::map<std::string, uint32_t>{{"127.0.0.2:80", 1}}));

  dns.setSrv("_http._tcp.none.srv.test", {{.target = "nowhere.srv.test", .port = 81}}, 5);
  EXPECT_TRUE(absl::IsNotFound(srvLookup(dns, "_http._tcp.none.srv.test").status()));
  EXPECT_TRUE(absl::IsNotFound(srvLookup(dns, "_http._tcp.unknown.srv.test").status()));
}

}  // namespace
}  // namespace sy::upstream
