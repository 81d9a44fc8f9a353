#pragma once

// What a request method may be, for both ways a request arrives: HTTP/1.1 text (Http1Parser
// over llhttp) and decoded HTTP/2 fields (Http1Parser::addField). Inline: the text path asks
// for every request and must not pay a call for it.

#include <llhttp.h>

#include <string_view>

namespace sy::http {

// Extension methods are tokens (RFC 9110 §9.1); like nginx, only upper-case letters, '-' and
// '_' are taken: every registered method is spelled so, and methods are case-sensitive, so "get"
// is not GET and is refused rather than forwarded as something a backend might read as GET.
inline bool isMethodChar(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

// The llhttp method named exactly `method`, among those llhttp 8.1.0 parses itself for HTTP (it
// refuses any other); -1 for any other name. Always inlined: the text path only asks whether
// the result is -1, which then folds into plain comparisons (a call costs it ~20 instructions
// per request).
[[gnu::always_inline]] inline int llhttpMethodNamed(std::string_view method) {
#define SY_KNOWN_METHOD(NUM, NAME, STRING) \
  if (method == #STRING) return NUM;
  HTTP_METHOD_MAP(SY_KNOWN_METHOD)
#undef SY_KNOWN_METHOD
  return -1;
}

}  // namespace sy::http
