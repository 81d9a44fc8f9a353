#pragma once

// Bridges between std::string_view and Debian's abseil, which is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0), plus the case-insensitive helpers
// HTTP needs everywhere.

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace sy::core {

inline absl::string_view toAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view toStd(absl::string_view s) { return {s.data(), s.size()}; }

// Lengths first, inline: most field names compared against a known one differ in length, and
// the call into abseil costs ~20 instructions per field of every head.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && absl::EqualsIgnoreCase(toAbsl(a), toAbsl(b));
}
inline bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return absl::StartsWithIgnoreCase(toAbsl(text), toAbsl(prefix));
}

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
};
struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// flat_hash_map keyed by std::string that can be probed with a std::string_view.
template <class V>
using StringMap = absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;

}  // namespace sy::core
