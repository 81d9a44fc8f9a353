#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace sy::core {

// Lowercases the ASCII letters of a 4- or 8-byte word at once: the high bit of each byte is
// set where the byte is >= 'A' (after + 0x3f) and where it is > 'Z' (after + 0x25), without
// carries (each byte is below 0x80 before the add); bytes >= 0x80 are left alone.
template <typename Word>
inline void asciiToLowerWord(const char* in, char* out) {
  constexpr Word kOnes = static_cast<Word>(0x0101010101010101ULL);
  constexpr Word kHighBits = kOnes * 0x80;
  Word word;
  std::memcpy(&word, in, sizeof word);
  const Word low7 = word & ~kHighBits;
  const Word upper = (low7 + kOnes * 0x3f) & ~(low7 + kOnes * 0x25) & ~word & kHighBits;
  word |= upper >> 2;  // 0x80 >> 2 == 0x20, the case bit
  std::memcpy(out, &word, sizeof word);
}

// `in` lowercased (ASCII letters only) into `out` (in.size() bytes; may be in.data()), a word
// at a time, the last word overlapping the one before (lowercasing is idempotent): HTTP/2
// field names must be lowercase, and a byte-by-byte copy cost ~9 instructions per byte of
// every name of every response head.
inline void asciiToLowerCopy(std::string_view in, char* out) {
  const size_t size = in.size();
  const char* from = in.data();
  if (size >= 8) {
    for (size_t i = 0; i + 8 < size; i += 8) asciiToLowerWord<uint64_t>(from + i, out + i);
    asciiToLowerWord<uint64_t>(from + size - 8, out + size - 8);
  } else if (size >= 4) {
    asciiToLowerWord<uint32_t>(from, out);
    asciiToLowerWord<uint32_t>(from + size - 4, out + size - 4);
  } else {
    for (size_t i = 0; i < size; ++i) {
      const char c = from[i];
      out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
    }
  }
}

}  // namespace sy::core
