#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace sy::http {

// `text` as a decimal number, digits and nothing else: no sign, no whitespace, no value above
// `max` (RFC 9110's 1*DIGIT, as llhttp reads Content-Length; leading zeros are digits too).
// absl::SimpleAtoi and std::strtoull accept "+5" and " 5", which a proxy must not read as 5: a
// backend that reads the same bytes otherwise would frame the message differently. false leaves
// *value unchanged.
bool parseStrictDecimal(std::string_view text, uint64_t* value,
                        uint64_t max = std::numeric_limits<uint64_t>::max());

}  // namespace sy::http
