// The PROXY protocol header parser (core/proxy_protocol): the bytes a connection on a
// proxy_protocol listener starts with.
//
// Invariants: a verdict is final (the same for the input cut anywhere after the point it was
// reached, and for the input with more bytes appended: a connection's header cannot change
// meaning with how reads fall); every strict prefix of an accepted header needs more; an
// accepted header is at most 107 bytes (v1, ending in CRLF) or 16 + 4096 (v2) and ends within
// the input; addresses, when present, are IPv4 or IPv6 and both of one family; a refusal says
// why; kNeedMore never comes with more than kMaxHeaderBytes of input.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/proxy_protocol.h"
#include "fuzz_support.h"

namespace sy::fuzz {
namespace {

using core::ProxyParse;
using Status = ProxyParse::Status;

bool sameVerdict(const ProxyParse& a, const ProxyParse& b) {
  if (a.status != b.status) return false;
  if (a.status != Status::kDone) return true;
  return a.consumed == b.consumed && a.header.version == b.header.version &&
         a.header.has_addresses == b.header.has_addresses &&
         a.header.source.toString() == b.header.source.toString() &&
         a.header.destination.toString() == b.header.destination.toString();
}

void checkOne(std::string_view input, const ProxyParse& parse) {
  switch (parse.status) {
    case Status::kNeedMore:
      SY_FUZZ_CHECK(input.size() < core::kMaxHeaderBytes, "kNeedMore within the bound");
      break;
    case Status::kMalformed:
      SY_FUZZ_CHECK(!parse.error.empty(), "a malformed header says why");
      break;
    case Status::kMissing:
      break;
    case Status::kDone: {
      SY_FUZZ_CHECK(parse.consumed > 0 && parse.consumed <= input.size(),
                    "the header ends within the input");
      if (parse.header.version == 1) {
        SY_FUZZ_CHECK(parse.consumed <= core::kMaxV1HeaderBytes, "v1 within 107 bytes");
        SY_FUZZ_CHECK(input.substr(parse.consumed - 2, 2) == "\r\n", "v1 ends in CRLF");
      } else {
        SY_FUZZ_CHECK(parse.header.version == 2, "version 1 or 2");
        SY_FUZZ_CHECK(parse.consumed >= 16 && parse.consumed <= core::kMaxHeaderBytes,
                      "v2 within 16 + 4096 bytes");
      }
      if (parse.header.has_addresses) {
        const int family = parse.header.source.family();
        SY_FUZZ_CHECK(family == AF_INET || family == AF_INET6, "an IP source");
        SY_FUZZ_CHECK(parse.header.destination.family() == family, "one family");
      }
      break;
    }
  }
}

}  // namespace
}  // namespace sy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sy::fuzz;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ProxyParse whole = sy::core::parseProxyHeader(input);
  checkOne(input, whole);
  // Cut points: all of them for short inputs, a spread for long ones (each parse is linear).
  const size_t step = size <= 256 ? 1 : size / 128;
  bool decided = false;  // some prefix already gave a final verdict
  for (size_t cut = 0; cut <= size; cut += step) {
    const std::string_view prefix = input.substr(0, cut);
    const ProxyParse part = sy::core::parseProxyHeader(prefix);
    checkOne(prefix, part);
    if (part.status == Status::kNeedMore) {
      SY_FUZZ_CHECK(!decided, "no kNeedMore after a verdict");
      continue;
    }
    decided = true;
    SY_FUZZ_CHECK(sameVerdict(part, whole), "a verdict stays the same with more input");
  }
  if (whole.status == Status::kDone) {
    const ProxyParse exact = sy::core::parseProxyHeader(input.substr(0, whole.consumed));
    SY_FUZZ_CHECK(sameVerdict(exact, whole), "the header alone gives the same header");
    for (size_t cut = 0; cut < whole.consumed; cut += (whole.consumed <= 256 ? 1 : 17)) {
      SY_FUZZ_CHECK(sy::core::parseProxyHeader(input.substr(0, cut)).status == Status::kNeedMore,
                    "a strict prefix of a header needs more");
    }
    const std::string longer = std::string(input) + "GET / HTTP/1.1\r\n\r\n";
    SY_FUZZ_CHECK(sameVerdict(sy::core::parseProxyHeader(longer), whole),
                  "bytes after the header do not change it");
  }
  return 0;
}
