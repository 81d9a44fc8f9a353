#pragma once

// IP addresses without ports, as keys for per-client tables, and CIDR prefixes for lists of
// trusted proxies. IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291
// §2.5.5.2), so that one 16-byte key and one prefix test serve both families.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sy::core {

class IpAddress {
 public:
  IpAddress() = default;

  // "192.0.2.1" or "2001:db8::1" (no brackets, no port); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  // The address of an AF_INET or AF_INET6 socket address; unspecified (::) for anything else.
  static IpAddress fromSockaddr(const sockaddr* address);
  static IpAddress fromV4(uint32_t host_order);

  bool isV4() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // "192.0.2.1" or "2001:db8::1".
  std::string toString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.bytes_ == b.bytes_; }
  template <typename H>
  friend H AbslHashValue(H state, const IpAddress& address) {
    return H::combine_contiguous(std::move(state), address.bytes_.data(), address.bytes_.size());
  }

 private:
  std::array<uint8_t, 16> bytes_{};
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.7" = "192.0.2.7/32").
class IpPrefix {
 public:
  // Rejects host bits set beyond the prefix ("10.0.0.1/8"): such a typo usually means the
  // writer meant a different range, and silently masking it would trust the wrong one.
  static absl::StatusOr<IpPrefix> parse(std::string_view text);

  bool contains(const IpAddress& address) const;
  // Canonical text: "10.0.0.0/8".
  std::string toString() const;

 private:
  IpAddress base_;
  uint32_t bits_ = 0;  // over the 128-bit form (an IPv4 /8 is 104)
};

}  // namespace sy::core
