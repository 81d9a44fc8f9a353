#include "core/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace sy::core {
namespace {

using Status = ProxyParse::Status;

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV2FixedBytes = 16;

ProxyParse malformed(std::string_view error) {
  ProxyParse out;
  out.status = Status::kMalformed;
  out.error = error;
  return out;
}

// Whether `input` starts with `signature`, or is a strict prefix of it.
enum class Match { kNo, kPartial, kFull };
Match matchSignature(std::string_view input, std::string_view signature) {
  const size_t n = std::min(input.size(), signature.size());
  if (input.substr(0, n) != signature.substr(0, n)) return Match::kNo;
  return n == signature.size() ? Match::kFull : Match::kPartial;
}

// A decimal port as the spec writes it: 0..65535, no sign, no leading zero.
bool parsePort(std::string_view text, uint16_t* port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// An address from its raw bytes (4 for AF_INET, 16 for AF_INET6) and a port in network order.
NetAddress addressFromBytes(int family, const void* raw, uint16_t port_network_order) {
  sockaddr_storage storage{};
  if (family == AF_INET) {
    auto* address = reinterpret_cast<sockaddr_in*>(&storage);
    address->sin_family = AF_INET;
    address->sin_port = port_network_order;
    std::memcpy(&address->sin_addr, raw, sizeof address->sin_addr);
  } else {
    auto* address = reinterpret_cast<sockaddr_in6*>(&storage);
    address->sin6_family = AF_INET6;
    address->sin6_port = port_network_order;
    std::memcpy(&address->sin6_addr, raw, sizeof address->sin6_addr);
  }
  return NetAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

// One address of the family the protocol field named, in inet_pton's strict syntax (which
// refuses leading zeros in IPv4, as the spec does).
bool parseAddress(int family, std::string_view text, uint16_t port, NetAddress* out) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(text);  // inet_pton wants a terminated string
  unsigned char raw[sizeof(in6_addr)];
  if (inet_pton(family, copy.c_str(), raw) != 1) return false;
  *out = addressFromBytes(family, raw, htons(port));
  return true;
}

ProxyParse parseV1(std::string_view input) {
  const std::string_view window = input.substr(0, kMaxV1HeaderBytes);
  const size_t newline = window.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() >= kMaxV1HeaderBytes) return malformed("v1: no CRLF within 107 bytes");
    return {};
  }
  if (newline == 0 || window[newline - 1] != '\r') return malformed("v1: LF without CR");
  ProxyParse out;
  out.status = Status::kDone;
  out.consumed = newline + 1;
  out.header.version = 1;
  std::string_view line = window.substr(kV1Signature.size(), newline - 1 - kV1Signature.size());
  // UNKNOWN: the sender could not tell (or does not say); whatever follows is to be ignored.
  constexpr std::string_view kUnknown = "UNKNOWN";
  if (line.substr(0, kUnknown.size()) == kUnknown &&
      (line.size() == kUnknown.size() || line[kUnknown.size()] == ' ')) {
    return out;
  }
  // TCP4|TCP6 SP source SP destination SP source-port SP destination-port, single spaces.
  std::string_view fields[5];
  for (size_t i = 0; i < 5; ++i) {
    const size_t space = i < 4 ? line.find(' ') : std::string_view::npos;
    if (i < 4 && space == std::string_view::npos) return malformed("v1: too few fields");
    fields[i] = line.substr(0, space);
    if (fields[i].empty()) return malformed("v1: an empty field");
    line = i < 4 ? line.substr(space + 1) : std::string_view();
  }
  if (fields[4].find(' ') != std::string_view::npos) return malformed("v1: too many fields");
  int family = 0;
  if (fields[0] == "TCP4") {
    family = AF_INET;
  } else if (fields[0] == "TCP6") {
    family = AF_INET6;
  } else {
    return malformed("v1: protocol is not TCP4, TCP6 or UNKNOWN");
  }
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  if (!parsePort(fields[3], &source_port) || !parsePort(fields[4], &destination_port)) {
    return malformed("v1: a port is not a number in 0..65535");
  }
  if (!parseAddress(family, fields[1], source_port, &out.header.source) ||
      !parseAddress(family, fields[2], destination_port, &out.header.destination)) {
    return malformed("v1: an address does not match the protocol");
  }
  out.header.has_addresses = true;
  return out;
}

ProxyParse parseV2(std::string_view input) {
  if (input.size() < kV2FixedBytes) return {};
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(input[i]); };
  if ((byte(12) >> 4) != 2) return malformed("v2: version is not 2");
  const uint8_t command = byte(12) & 0x0F;
  if (command > 1) return malformed("v2: command is neither LOCAL nor PROXY");
  const size_t length = (size_t{byte(14)} << 8) | byte(15);
  if (length > kMaxV2PayloadBytes) return malformed("v2: header longer than 4096 bytes");
  if (input.size() < kV2FixedBytes + length) return {};
  ProxyParse out;
  out.status = Status::kDone;
  out.consumed = kV2FixedBytes + length;
  out.header.version = 2;
  // LOCAL: the proxy speaks for itself (a health check); the family byte is to be ignored.
  if (command == 0) return out;
  const uint8_t family = byte(13) >> 4;
  const uint8_t transport = byte(13) & 0x0F;
  // AF_UNSPEC and AF_UNIX carry no IP address: the socket's addresses stand (the spec lets the
  // receiver accept the connection that way).
  if (family == 0 || family == 3) return out;
  if (family != 1 && family != 2) return malformed("v2: unknown address family");
  if (transport != 1) return malformed("v2: transport is not STREAM (TCP)");
  const char* block = input.data() + kV2FixedBytes;
  // Source address, destination address, source port, destination port (ports in network
  // order, as sockaddr wants them).
  const bool ipv4 = family == 1;
  const size_t address_bytes = ipv4 ? 4 : 16;
  if (length < 2 * address_bytes + 4) {
    return malformed(ipv4 ? "v2: too short for IPv4 addresses"
                          : "v2: too short for IPv6 addresses");
  }
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  std::memcpy(&source_port, block + 2 * address_bytes, 2);
  std::memcpy(&destination_port, block + 2 * address_bytes + 2, 2);
  const int af = ipv4 ? AF_INET : AF_INET6;
  out.header.source = addressFromBytes(af, block, source_port);
  out.header.destination = addressFromBytes(af, block + address_bytes, destination_port);
  // Whatever follows the addresses is TLVs (ALPN, authority, cloud ids): skipped.
  out.header.has_addresses = true;
  return out;
}

}  // namespace

ProxyParse parseProxyHeader(std::string_view input) {
  const Match v1 = matchSignature(input, kV1Signature);
  if (v1 == Match::kFull) return parseV1(input);
  const Match v2 = matchSignature(input, kV2Signature);
  if (v2 == Match::kFull) return parseV2(input);
  if (v1 == Match::kPartial || v2 == Match::kPartial) return {};
  ProxyParse out;
  out.status = Status::kMissing;
  return out;
}

}  // namespace sy::core
