#include "core/proxy_protocol.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

using Status = ProxyParse::Status;

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: signature, version/command, family/transport, length, then `payload`.
std::string v2(uint8_t version_command, uint8_t family_transport, const std::string& payload) {
  std::string out = kV2Signature;
  out.push_back(static_cast<char>(version_command));
  out.push_back(static_cast<char>(family_transport));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size() & 0xFF));
  return out + payload;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// 203.0.113.7:51000 -> 192.0.2.1:443, then `tlvs`.
std::string v2Inet(const std::string& tlvs = "") {
  return v2(
      0x21, 0x11,
      bytes({203, 0, 113, 7, 192, 0, 2, 1, 51000 >> 8, 51000 & 0xFF, 443 >> 8, 443 & 0xFF}) + tlvs);
}

// 2001:db8::7:51000 -> 2001:db8::1:443.
std::string v2Inet6() {
  std::string payload = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  payload += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  payload += bytes({51000 >> 8, 51000 & 0xFF, 443 >> 8, 443 & 0xFF});
  return v2(0x21, 0x21, payload);
}

void expectClient(const ProxyParse& parse, const std::string& source, const std::string& dest) {
  ASSERT_EQ(parse.status, Status::kDone) << parse.error;
  EXPECT_TRUE(parse.header.has_addresses);
  EXPECT_EQ(parse.header.source.toString(), source);
  EXPECT_EQ(parse.header.destination.toString(), dest);
}

TEST(ProxyProtocolTest, V1Tcp4AndTcp6) {
  const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n";
  ProxyParse parse = parseProxyHeader(header + "GET / HTTP/1.1\r\n");
  expectClient(parse, "203.0.113.7:51000", "192.0.2.1:443");
  EXPECT_EQ(parse.header.version, 1);
  EXPECT_EQ(parse.consumed, header.size()) << "the request after it is not consumed";

  parse = parseProxyHeader("PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n");
  expectClient(parse, "[2001:db8::7]:0", "[2001:db8::1]:65535");
}

TEST(ProxyProtocolTest, V1UnknownKeepsTheSocketAddresses) {
  for (const std::string header :
       {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"}) {
    const ProxyParse parse = parseProxyHeader(header + "x");
    ASSERT_EQ(parse.status, Status::kDone) << header;
    EXPECT_FALSE(parse.header.has_addresses);
    EXPECT_EQ(parse.consumed, header.size());
  }
}

TEST(ProxyProtocolTest, V1TheLongestHeaderFitsAndOneByteMoreDoesNot) {
  // The spec's worst case: 107 bytes with the CRLF (UNKNOWN with two full IPv6 addresses; the
  // same as TCP6 is 104).
  const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + full + " " + full + " 65535 65535\r\n";
  EXPECT_EQ(tcp6.size(), 104u);
  EXPECT_EQ(parseProxyHeader(tcp6).status, Status::kDone);
  const std::string longest = "PROXY UNKNOWN " + full + " " + full + " 65535 65535\r\n";
  ASSERT_EQ(longest.size(), kMaxV1HeaderBytes);
  EXPECT_EQ(parseProxyHeader(longest).status, Status::kDone);
  const std::string unknown_too_long = "PROXY UNKNOWN " + std::string(92, 'x') + "\r\n";
  ASSERT_EQ(unknown_too_long.size(), kMaxV1HeaderBytes + 1);
  EXPECT_EQ(parseProxyHeader(unknown_too_long).status, Status::kMalformed);
  // No CRLF after 107 bytes: refused without waiting for more.
  EXPECT_EQ(parseProxyHeader("PROXY TCP4 " + std::string(200, '1')).status, Status::kMalformed);
  EXPECT_EQ(parseProxyHeader("PROXY TCP4 " + std::string(90, '1')).status, Status::kNeedMore);
}

TEST(ProxyProtocolTest, V1BadInputs) {
  for (const std::string header : {
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\n",      // LF alone
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000\r\n",        // a field short
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443 1\r\n",  // a field too many
           "PROXY TCP4  203.0.113.7 192.0.2.1 51000 443\r\n",   // two spaces
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443 \r\n",   // trailing space
           "PROXY TCP5 203.0.113.7 192.0.2.1 51000 443\r\n",    // protocol
           "PROXY tcp4 203.0.113.7 192.0.2.1 51000 443\r\n",    // case matters
           "PROXY TCP4 2001:db8::7 192.0.2.1 51000 443\r\n",    // family mismatch
           "PROXY TCP6 203.0.113.7 2001:db8::1 51000 443\r\n",  // family mismatch
           "PROXY TCP4 203.0.113.07 192.0.2.1 51000 443\r\n",   // leading zero in an octet
           "PROXY TCP4 203.0.113.256 192.0.2.1 51000 443\r\n",  // octet out of range
           "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n",    // port out of range
           "PROXY TCP4 203.0.113.7 192.0.2.1 051000 443\r\n",   // leading zero in a port
           "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n",       // sign
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 44x\r\n",    // not a number
           "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\r\n",  // stray CR
           "PROXY \r\n",                                        // nothing
           "PROXY UNKNOWNX\r\n",                                // not UNKNOWN
       }) {
    const ProxyParse parse = parseProxyHeader(header);
    EXPECT_EQ(parse.status, Status::kMalformed) << header;
    EXPECT_FALSE(parse.error.empty()) << header;
  }
}

TEST(ProxyProtocolTest, AnythingElseIsMissingAsSoonAsOneByteSaysSo) {
  for (const std::string& input :
       std::vector<std::string>{"GET / HTTP/1.1\r\n", "G", "PROXZ", "proxy TCP4", "\x16\x03\x01",
                                "\r\n\r\nx", std::string("\r\n\r\n\0\r\nQUIT!", 12), "PROXY\r\n"}) {
    EXPECT_EQ(parseProxyHeader(input).status, Status::kMissing) << input;
  }
  EXPECT_EQ(parseProxyHeader("").status, Status::kNeedMore);
  EXPECT_EQ(parseProxyHeader("PROX").status, Status::kNeedMore);
  EXPECT_EQ(parseProxyHeader("\r\n\r\n").status, Status::kNeedMore) << "either v2 or a CRLF";
}

TEST(ProxyProtocolTest, V2ProxyInetAndInet6) {
  ProxyParse parse = parseProxyHeader(v2Inet() + "GET");
  expectClient(parse, "203.0.113.7:51000", "192.0.2.1:443");
  EXPECT_EQ(parse.header.version, 2);
  EXPECT_EQ(parse.consumed, 28u);

  parse = parseProxyHeader(v2Inet6());
  expectClient(parse, "[2001:db8::7]:51000", "[2001:db8::1]:443");
  EXPECT_EQ(parse.consumed, 52u);
}

TEST(ProxyProtocolTest, V2TlvsAreSkipped) {
  // PP2_TYPE_ALPN "h2" and PP2_TYPE_AUTHORITY "example.com", then a NOOP.
  const std::string tlvs = bytes({0x01, 0, 2}) + "h2" + bytes({0x02, 0, 11}) + "example.com" +
                           bytes({0x04, 0, 3, 0, 0, 0});
  const std::string header = v2Inet(tlvs);
  const ProxyParse parse = parseProxyHeader(header + "GET / HTTP/1.1\r\n");
  expectClient(parse, "203.0.113.7:51000", "192.0.2.1:443");
  EXPECT_EQ(parse.consumed, header.size());
}

TEST(ProxyProtocolTest, V2LocalAndAddresslessFamiliesKeepTheSocketAddresses) {
  // LOCAL ignores the family, whatever it says.
  for (const std::string& header :
       {v2(0x20, 0x00, ""), v2(0x20, 0x11, std::string(12, '\0')), v2(0x20, 0xFF, "abc")}) {
    const ProxyParse parse = parseProxyHeader(header + "x");
    ASSERT_EQ(parse.status, Status::kDone) << parse.error;
    EXPECT_FALSE(parse.header.has_addresses);
    EXPECT_EQ(parse.consumed, header.size());
  }
  // PROXY with AF_UNSPEC or AF_UNIX: no IP address to use.
  for (const std::string& header : {v2(0x21, 0x00, ""), v2(0x21, 0x31, std::string(216, 'p'))}) {
    const ProxyParse parse = parseProxyHeader(header);
    ASSERT_EQ(parse.status, Status::kDone) << parse.error;
    EXPECT_FALSE(parse.header.has_addresses);
  }
}

TEST(ProxyProtocolTest, V2BadInputs) {
  const std::string inet = v2Inet().substr(16);
  for (const std::string& header : {
           v2(0x11, 0x11, inet),                                         // version 1 in binary
           v2(0x31, 0x11, inet),                                         // version 3
           v2(0x22, 0x11, inet),                                         // command 2
           v2(0x21, 0x12, inet),                                         // DGRAM
           v2(0x21, 0x10, inet),                                         // transport UNSPEC
           v2(0x21, 0x41, inet),                                         // family 4
           v2(0x21, 0x11, inet.substr(0, 11)),                           // too short for IPv4
           v2(0x21, 0x21, inet + std::string(23, '\0')),                 // too short for IPv6
           v2(0x21, 0x11, inet + std::string(kMaxV2PayloadBytes, 't')),  // over the bound
       }) {
    const ProxyParse parse = parseProxyHeader(header);
    EXPECT_EQ(parse.status, Status::kMalformed) << parse.error;
    EXPECT_FALSE(parse.error.empty());
  }
  // The bound is known from the length field alone: refused before the bytes arrive.
  std::string announced = v2(0x21, 0x11, "");
  announced[14] = static_cast<char>(0xFF);
  announced[15] = static_cast<char>(0xFF);
  EXPECT_EQ(parseProxyHeader(announced).status, Status::kMalformed);
  // Exactly at the bound is fine.
  EXPECT_EQ(
      parseProxyHeader(v2(0x21, 0x11, inet + std::string(kMaxV2PayloadBytes - 12, 't'))).status,
      Status::kDone);
}

// Every header, cut at every point: the prefix needs more, the whole gives the same verdict as
// one piece, whatever follows it.
TEST(ProxyProtocolTest, EverySplitPointNeedsMoreThenGivesTheSameHeader) {
  const std::vector<std::string> headers = {
      "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n",
      "PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n",
      "PROXY UNKNOWN\r\n",
      v2Inet(),
      v2Inet6(),
      v2Inet(bytes({0x01, 0, 2}) + "h2"),
      v2(0x20, 0x00, ""),
  };
  for (const std::string& header : headers) {
    const ProxyParse whole = parseProxyHeader(header + "GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(whole.status, Status::kDone) << header;
    ASSERT_EQ(whole.consumed, header.size());
    for (size_t cut = 0; cut < header.size(); ++cut) {
      EXPECT_EQ(parseProxyHeader(header.substr(0, cut)).status, Status::kNeedMore)
          << "cut at " << cut << " of " << header;
    }
    const ProxyParse exact = parseProxyHeader(header);
    ASSERT_EQ(exact.status, Status::kDone);
    EXPECT_EQ(exact.consumed, whole.consumed);
    EXPECT_EQ(exact.header.has_addresses, whole.header.has_addresses);
    EXPECT_EQ(exact.header.source.toString(), whole.header.source.toString());
    EXPECT_EQ(exact.header.destination.toString(), whole.header.destination.toString());
  }
}

}  // namespace
}  // namespace sy::core
