#pragma once

#include <string>
#include <string_view>

namespace sy::http {

// How a request path is brought to normal form before it is routed (listener settings).
struct PathOptions {
  // "//" counts as "/" (nginx's merge_slashes on). Off: empty segments are kept.
  bool merge_slashes = true;
  // "%2F" and "%5C" (and a raw "\") are accepted and kept as they are, never treated as
  // separators. Off: they are refused, since backends disagree on whether they separate
  // segments, which makes them a way around a prefix route.
  bool allow_encoded_slash = false;
};

struct NormalizedPath {
  enum class Outcome {
    kUnchanged,      // already in normal form; `target` is empty (use the one received)
    kCanonicalized,  // only percent-encodings changed (RFC 3986 §6.2.2.1-2: same resource)
    kResolved,       // dot-segments removed or slashes merged: the path names another place
    kInvalid,        // must be refused with 400; `error` says why
  };
  Outcome outcome = Outcome::kUnchanged;
  std::string target;      // kCanonicalized and kResolved: normalised path + query as received
  std::string_view error;  // kInvalid
};

// Normalises the path of an origin-form target ("/a/../b?x"): unreserved characters are
// percent-decoded (RFC 3986 §2.3) and the other encodings get upper-case hex (§6.2.2.1), so
// "%2e" is a dot; then dot-segments are removed (§5.2.4). The query (from the first '?' or '#')
// is kept byte for byte. Refused (kInvalid): a malformed percent-encoding, an encoded NUL, an
// encoded slash or backslash unless allowed, and a ".." that climbs above the root ("/../x"),
// which nginx refuses with 400 too. Targets that do not start with '/' ("*") are unchanged.
NormalizedPath normalizeRequestPath(std::string_view target, const PathOptions& options);

}  // namespace sy::http
