#include "core/ip_address.h"

#include <netinet/in.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sy::core {
namespace {

using ::testing::HasSubstr;

IpAddress ip(std::string_view text) {
  std::optional<IpAddress> address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress());
}

TEST(IpAddressTest, ParsesBothFamiliesAndPrintsThemBack) {
  EXPECT_EQ(ip("192.0.2.1").toString(), "192.0.2.1");
  EXPECT_TRUE(ip("192.0.2.1").isV4());
  EXPECT_EQ(ip("2001:DB8::1").toString(), "2001:db8::1");
  EXPECT_FALSE(ip("2001:db8::1").isV4());
  EXPECT_EQ(ip("::ffff:192.0.2.1"), ip("192.0.2.1"));
  EXPECT_EQ(IpAddress::fromV4(0x7f000002), ip("127.0.0.2"));
}

TEST(IpAddressTest, RejectsWhatIsNotAnAddress) {
  for (std::string_view text : {"", "unknown", "192.0.2.1:80", "[::1]", "1.2.3", "1.2.3.256",
                                " 1.2.3.4", "_hidden", "2001:db8::1::2"}) {
    EXPECT_FALSE(IpAddress::parse(text).has_value()) << text;
  }
}

TEST(IpAddressTest, FromSockaddr) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x7f000005);
  EXPECT_EQ(IpAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&v4)), ip("127.0.0.5"));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_loopback;
  EXPECT_EQ(IpAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&v6)), ip("::1"));
}

TEST(IpPrefixTest, ContainsTheAddressesOfItsRange) {
  const IpPrefix ten = *IpPrefix::parse("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(ip("10.255.1.2")));
  EXPECT_FALSE(ten.contains(ip("11.0.0.1")));
  EXPECT_FALSE(ten.contains(ip("::a00:1")));  // not the IPv4-mapped form
  const IpPrefix odd = *IpPrefix::parse("192.168.4.0/22");
  EXPECT_TRUE(odd.contains(ip("192.168.7.255")));
  EXPECT_FALSE(odd.contains(ip("192.168.8.0")));
  const IpPrefix v6 = *IpPrefix::parse("2001:db8::/32");
  EXPECT_TRUE(v6.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db9::1")));
  const IpPrefix one = *IpPrefix::parse("127.0.0.2");
  EXPECT_TRUE(one.contains(ip("127.0.0.2")));
  EXPECT_FALSE(one.contains(ip("127.0.0.3")));
  EXPECT_EQ(one.toString(), "127.0.0.2/32");
  const IpPrefix all = *IpPrefix::parse("0.0.0.0/0");
  EXPECT_TRUE(all.contains(ip("203.0.113.9")));
  EXPECT_FALSE(all.contains(ip("2001:db8::1")));
}

TEST(IpPrefixTest, RejectsBadRangesWithAClearMessage) {
  EXPECT_THAT(std::string(IpPrefix::parse("10.0.0.1/8").status().message()),
              HasSubstr("did you mean 10.0.0.0/8?"));
  EXPECT_THAT(std::string(IpPrefix::parse("10.0.0.0/33").status().message()),
              HasSubstr("prefix length of 0 to 32"));
  EXPECT_THAT(std::string(IpPrefix::parse("2001:db8::/129").status().message()),
              HasSubstr("prefix length of 0 to 128"));
  for (std::string_view text : {"10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8x", "example.com/8", "/8"}) {
    EXPECT_FALSE(IpPrefix::parse(text).ok()) << text;
  }
}

}  // namespace
}  // namespace sy::core
