#pragma once

// Shared by the HTTP fuzz targets: feeding a byte stream to Http1Parser the way a connection
// does (in reads of any size, resuming after each message), recording what it delivered, and the
// RFC 9110/9112 checks every accepted message head must pass.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http1_parser.h"

namespace sy::fuzz {

// A broken invariant is a finding: print it and abort so that libFuzzer saves the input.
[[noreturn]] void fail(const char* invariant, std::string_view detail = {});

#define SY_FUZZ_CHECK(condition, what)                    \
  do {                                                    \
    if (!(condition)) ::sy::fuzz::fail(what, #condition); \
  } while (0)

// One message as the parser delivered it.
struct Message {
  std::string method;
  std::string url;
  int status = 0;
  std::string reason;
  int major = 0;
  int minor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<size_t> body_pieces;  // sizes of the onBody() calls, for re-chunking
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool until_eof = false;
  bool upgrade = false;
  bool no_body = false;   // a response the callback declared bodiless (answer to HEAD)
  size_t end_offset = 0;  // input offset just past the message (whole-input parses only)

  // Everything the parser decided, for comparing two parses of the same bytes.
  bool sameAs(const Message& other) const;
};

// The head of the message `parser` is at (from onHeadComplete() on).
Message headOf(const http::Http1Parser& parser);

struct Outcome {
  std::vector<Message> messages;
  bool error = false;
  int error_status = 0;
  bool tunnel = false;  // stopped after an Upgrade/CONNECT message or a 101: the rest is not HTTP
};

struct FeedOptions {
  http::Http1Parser::Type type = http::Http1Parser::Type::kRequest;
  http::ParserLimits limits;
  bool responses_to_head = false;  // every response answers a HEAD request (kNoBody)
  bool finish_at_end = false;      // the peer closes after the last byte (responses)
};

// Parses `data` delivered in reads that end at each offset of `cuts` (ascending; the end of the
// data is always a cut), as the proxy's connections do: resume after every message, stop at the
// first error, after an upgrade or after a 101 response.
Outcome feed(std::string_view data, const std::vector<size_t>& cuts, const FeedOptions& options);

// The read patterns every parser target tries: the whole input at once, one byte at a time, and
// pseudo-random reads derived from `seed`.
std::vector<size_t> wholeCuts(size_t size);
std::vector<size_t> byteCuts(size_t size);
std::vector<size_t> randomCuts(size_t size, uint64_t seed);

uint64_t hashBytes(std::string_view data);

// RFC checks of one accepted message. `raw` is the message's bytes from the input (empty when
// unknown). Returns nullptr when fine, else the name of the broken rule.
const char* requestHeadProblem(const Message& message, std::string_view raw);
const char* responseHeadProblem(const Message& message, std::string_view raw);

// RFC 9110 §5.6.2 token (tchar) and §5.5 field-value checks.
bool isToken(std::string_view text);
bool isCleanFieldValue(std::string_view value);
// RFC 9112 §2.2: every CR of the head is followed by LF and no NUL appears.
bool headHasNoBareCrOrNul(std::string_view head);

// The parser layer's invariants for one input (fuzz_request_parser, fuzz_response_parser): every
// message accepted from the whole input passes the RFC checks above, and reads of one byte or of
// random sizes give exactly the same messages, error and tunnel decision. Returns the whole-input
// outcome.
Outcome checkParserLayer(std::string_view input, const FeedOptions& options);

}  // namespace sy::fuzz
