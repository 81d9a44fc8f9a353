#pragma once

// The PROXY protocol header (HAProxy's "The PROXY protocol", versions 1 and 2): what a proxy in
// front of us (a TCP load balancer, HAProxy, nginx's stream module, a cloud NLB) sends before
// the client's own bytes to say who the client is. The parser only reads; whom to believe is
// the listener's business (proxy/downstream_connection.cc, trusted_proxies).
//
// Stateless: the caller passes every byte received so far and calls again with more after
// kNeedMore, so a header split over any number of reads parses the same as one in one piece.
// The verdict never needs more than kMaxHeaderBytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/net_address.h"

namespace sy::core {

struct ProxyHeader {
  int version = 0;  // 1 (text) or 2 (binary)
  // The addresses below name the client and the address it connected to. False for v2 LOCAL
  // (the proxy's own connection, a health check), v1 UNKNOWN, and v2 families that carry no IP
  // address (AF_UNSPEC, AF_UNIX): the socket's addresses stand then, as the spec asks.
  bool has_addresses = false;
  NetAddress source;
  NetAddress destination;
};

struct ProxyParse {
  enum class Status {
    kNeedMore,   // a valid prefix so far: call again with more bytes
    kDone,       // `header` is set; the first `consumed` bytes were the header
    kMissing,    // the bytes do not start with either signature (a plain client)
    kMalformed,  // a signature, then something the spec does not allow; `error` says what
  };
  Status status = Status::kNeedMore;
  size_t consumed = 0;
  ProxyHeader header;
  std::string_view error;  // static text, for logs
};

// v1: "PROXY " ... "\r\n", at most 107 bytes including the CRLF (spec §2.1).
inline constexpr size_t kMaxV1HeaderBytes = 107;
// v2: 16 fixed bytes and up to this many more (addresses and TLVs). The spec allows 65535;
// real senders stay far below (addresses are 36 bytes at most, cloud TLVs a few dozen), and
// the bound caps what one connection may make us hold before it has said anything.
inline constexpr size_t kMaxV2PayloadBytes = 4096;
inline constexpr size_t kMaxHeaderBytes = 16 + kMaxV2PayloadBytes;

ProxyParse parseProxyHeader(std::string_view input);

}  // namespace sy::core
