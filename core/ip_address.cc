#include "core/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::core {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a terminated string; the longest IPv6 text form is 45 characters.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    std::memcpy(address.bytes_.data(), kMappedPrefix, sizeof kMappedPrefix);
    std::memcpy(address.bytes_.data() + 12, &v4, 4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(address.bytes_.data(), &v6, 16);
    return address;
  }
  return std::nullopt;
}

IpAddress IpAddress::fromSockaddr(const sockaddr* address) {
  IpAddress out;
  if (address == nullptr) return out;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    std::memcpy(out.bytes_.data(), kMappedPrefix, sizeof kMappedPrefix);
    std::memcpy(out.bytes_.data() + 12, &v4->sin_addr, 4);
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(out.bytes_.data(), &v6->sin6_addr, 16);
  }
  return out;
}

IpAddress IpAddress::fromV4(uint32_t host_order) {
  IpAddress out;
  std::memcpy(out.bytes_.data(), kMappedPrefix, sizeof kMappedPrefix);
  const uint32_t network = htonl(host_order);
  std::memcpy(out.bytes_.data() + 12, &network, 4);
  return out;
}

bool IpAddress::isV4() const {
  return std::memcmp(bytes_.data(), kMappedPrefix, sizeof kMappedPrefix) == 0;
}

std::string IpAddress::toString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (isV4()) {
    // By hand rather than inet_ntop, whose IPv4 form goes through sprintf (~1,000
    // instructions): a client connection formats its address once per request.
    char* out = buffer;
    for (size_t i = 12; i < 16; ++i) {
      if (i > 12) *out++ = '.';
      out = std::to_chars(out, buffer + sizeof buffer, static_cast<unsigned>(bytes_[i])).ptr;
    }
    return std::string(buffer, out);
  }
  inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

absl::StatusOr<IpPrefix> IpPrefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  std::optional<IpAddress> address = IpAddress::parse(address_text);
  if (!address) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected an IP address or CIDR range such as \"10.0.0.0/8\" or \"2001:db8::/32\", got \"",
        toAbsl(text), "\""));
  }
  const uint32_t family_bits = address->isV4() ? 32 : 128;
  uint32_t bits = family_bits;
  if (slash != std::string_view::npos) {
    const std::string_view bits_text = text.substr(slash + 1);
    if (bits_text.empty() || !absl::SimpleAtoi(toAbsl(bits_text), &bits) || bits > family_bits ||
        bits_text.find_first_not_of("0123456789") != std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected a prefix length of 0 to ",
                                                     family_bits, " after '/', got \"",
                                                     toAbsl(text), "\""));
    }
  }
  IpPrefix prefix;
  prefix.base_ = *address;
  prefix.bits_ = bits + (address->isV4() ? 96 : 0);
  // Host bits beyond the prefix must be zero.
  const auto& bytes = address->bytes();
  for (uint32_t bit = prefix.bits_; bit < 128; ++bit) {
    if ((bytes[bit / 8] >> (7 - bit % 8)) & 1) {
      return absl::InvalidArgumentError(absl::StrCat("\"", toAbsl(text),
                                                     "\" has host bits set beyond the prefix "
                                                     "length (did you mean ",
                                                     prefix.toString(), "?)"));
    }
  }
  return prefix;
}

bool IpPrefix::contains(const IpAddress& address) const {
  const auto& a = address.bytes();
  const auto& b = base_.bytes();
  const uint32_t whole = bits_ / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const uint32_t rest = bits_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string IpPrefix::toString() const {
  // Masked, so that a rejected "10.0.0.1/8" can suggest "10.0.0.0/8".
  std::array<uint8_t, 16> bytes = base_.bytes();
  for (uint32_t bit = bits_; bit < 128; ++bit) bytes[bit / 8] &= ~(1u << (7 - bit % 8));
  if (base_.isV4()) {
    uint32_t v4 = 0;
    for (int i = 12; i < 16; ++i) v4 = (v4 << 8) | bytes[i];
    return absl::StrCat(IpAddress::fromV4(v4).toString(), "/", bits_ - 96);
  }
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer);
  return absl::StrCat(buffer, "/", bits_);
}

}  // namespace sy::core
