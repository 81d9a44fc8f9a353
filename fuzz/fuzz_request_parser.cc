// Request parser layer (http/http1_parser + header_block): a client byte stream, possibly
// several pipelined requests, read whole, one byte at a time and in random pieces.
//
// Invariants: every accepted request passes the RFC 9110/9112 checks of fuzz_support.cc (token
// method and names, clean values, one Host, no CL+TE, body length = Content-Length, no bare CR
// or NUL in the head), and the way the bytes were split into reads changes nothing.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  sy::fuzz::FeedOptions options;
  options.type = sy::http::Http1Parser::Type::kRequest;
  // One input in four runs with tiny limits, so that the 414/431 paths get exercised too.
  if (sy::fuzz::hashBytes(input) % 4 == 0) options.limits = {64, 256, 8};
  sy::fuzz::checkParserLayer(input, options);
  return 0;
}
