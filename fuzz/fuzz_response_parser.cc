// Response parser layer (http/http1_parser as the upstream side uses it): a backend byte
// stream, possibly several responses, the connection closing after the last byte.
//
// Invariants: every accepted response passes the RFC 9110/9112 checks of fuzz_support.cc
// (status 100..599, clean reason and fields, no CL+TE, no body on 1xx/204/304 or on the answer
// to HEAD, body length = Content-Length, no bare CR or NUL in the head), and the way the bytes
// were split into reads changes nothing.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = sy::fuzz::hashBytes(input);
  sy::fuzz::FeedOptions options;
  options.type = sy::http::Http1Parser::Type::kResponse;
  options.finish_at_end = true;
  options.responses_to_head = (seed >> 8) % 4 == 0;  // as if the request had been HEAD
  if (seed % 4 == 0) options.limits = {64, 256, 8};
  sy::fuzz::checkParserLayer(input, options);
  return 0;
}
