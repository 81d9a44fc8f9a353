#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sy::core {

// An IPv4 or IPv6 socket address. Parsed from "1.2.3.4:80", "[::1]:80" or, when name resolution
// is allowed, "localhost:80" (resolved once, at parse time, to its first address).
class NetAddress {
 public:
  NetAddress() = default;

  static absl::StatusOr<NetAddress> parse(std::string_view host_port, bool resolve_names = true);
  static NetAddress fromSockaddr(const sockaddr* addr);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  bool isLoopback() const;
  bool valid() const { return length_ != 0; }

  // "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  // "1.2.3.4" or "::1", without the port.
  std::string hostString() const;

  friend bool operator==(const NetAddress& a, const NetAddress& b) {
    return a.toString() == b.toString();
  }

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace sy::core
