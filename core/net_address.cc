#include "core/net_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::core {

absl::StatusOr<NetAddress> NetAddress::parse(std::string_view text, bool resolve_names) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", toAbsl(text), "\" is not an address: expected [ipv6]:port"));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", toAbsl(text), "\" is not an address: expected host:port"));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", toAbsl(text), "\" is not an address: put IPv6 addresses in brackets, [::1]:80"));
    }
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(toAbsl(port_text), &port) || port > 65535 || port_text.empty() ||
      port_text.front() == '+' || port_text.front() == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", toAbsl(text), "\" has an invalid port: expected 0-65535"));
  }
  NetAddress out;
  const std::string host_string(host);
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, host_string.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&out.storage_, &v4, sizeof v4);
    out.length_ = sizeof v4;
    return out;
  }
  if (inet_pton(AF_INET6, host_string.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&out.storage_, &v6, sizeof v6);
    out.length_ = sizeof v6;
    return out;
  }
  if (!resolve_names || host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", toAbsl(text), "\" is not an address: expected an IP literal"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host_string.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve \"", host_string, "\": ", gai_strerror(rc)));
  }
  out = fromSockaddr(result->ai_addr);
  freeaddrinfo(result);
  out.setPort(static_cast<uint16_t>(port));
  return out;
}

NetAddress NetAddress::fromSockaddr(const sockaddr* addr) {
  NetAddress out;
  if (addr->sa_family == AF_INET) {
    std::memcpy(&out.storage_, addr, sizeof(sockaddr_in));
    out.length_ = sizeof(sockaddr_in);
  } else if (addr->sa_family == AF_INET6) {
    std::memcpy(&out.storage_, addr, sizeof(sockaddr_in6));
    out.length_ = sizeof(sockaddr_in6);
  }
  return out;
}

uint16_t NetAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void NetAddress::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

bool NetAddress::isLoopback() const {
  if (family() == AF_INET) {
    const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const auto* in6 = &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(in6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(in6)) return in6->s6_addr[12] == 127;
  }
  return false;
}

std::string NetAddress::hostString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::string NetAddress::toString() const {
  if (family() == AF_INET6) return absl::StrCat("[", hostString(), "]:", port());
  if (family() == AF_INET) return absl::StrCat(hostString(), ":", port());
  return "(none)";
}

}  // namespace sy::core
