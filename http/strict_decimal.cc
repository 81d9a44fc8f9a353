#include "http/strict_decimal.h"

namespace sy::http {

bool parseStrictDecimal(std::string_view text, uint64_t* value, uint64_t max) {
  if (text.empty()) return false;
  uint64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    // n * 10 + digit > max, without overflowing (max - digit would wrap for max < 9).
    if (digit > max || n > (max - digit) / 10) return false;
    n = n * 10 + digit;
  }
  *value = n;
  return true;
}

}  // namespace sy::http
