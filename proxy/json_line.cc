#include "proxy/json_line.h"

#include <charconv>
#include <cmath>

namespace sy::proxy {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// What a byte needs: 0 copied as is, 1 escaped ASCII, 2 the start of a multi-byte sequence or
// an invalid byte.
constexpr uint8_t byteClass(unsigned char c) {
  if (c >= 0x80) return 2;
  if (c < 0x20 || c == '"' || c == '\\') return 1;
  return 0;
}

struct ByteClasses {
  uint8_t of[256];
  constexpr ByteClasses() : of() {
    for (int c = 0; c < 256; ++c) of[c] = byteClass(static_cast<unsigned char>(c));
  }
};
constexpr ByteClasses kClasses;

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t validSequence(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  auto continuation = [&](size_t i) { return i < n && (s[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return continuation(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !continuation(1) || !continuation(2)) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && s[1] > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && s[1] > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void appendEscapedAscii(std::string* out, unsigned char c) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default: {
      const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(escaped, 6);
    }
  }
}

}  // namespace

void appendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t run = 0;  // start of the bytes not yet appended
  size_t i = 0;
  while (i < n) {
    const uint8_t kind = kClasses.of[s[i]];
    if (kind == 0) {
      ++i;
      continue;
    }
    if (kind == 2) {
      const size_t length = validSequence(s + i, n - i);
      if (length > 0) {
        i += length;  // valid UTF-8 goes out as it came
        continue;
      }
    }
    out->append(text.data() + run, i - run);
    if (kind == 1) {
      appendEscapedAscii(out, s[i]);
    } else {
      const char escaped[6] = {'\\', '\\', 'x', kHex[s[i] >> 4], kHex[s[i] & 0xF]};
      out->append(escaped, 5);
    }
    ++i;
    run = i;
  }
  out->append(text.data() + run, n - run);
  out->push_back('"');
}

void appendJsonStringOrNull(std::string* out, std::string_view text) {
  if (text.empty()) {
    out->append("null");
  } else {
    appendJsonString(out, text);
  }
}

void appendJsonUnsigned(std::string* out, uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, static_cast<size_t>(result.ptr - digits));
}

void appendJsonMillis(std::string* out, double ms) {
  if (ms < 0 || !std::isfinite(ms)) {
    out->append("null");
    return;
  }
  // Integer arithmetic: to_chars for doubles with a precision is slower than this.
  const uint64_t micros = static_cast<uint64_t>(std::llround(ms * 1000.0));
  appendJsonUnsigned(out, micros / 1000);
  const uint64_t fraction = micros % 1000;
  const char decimals[4] = {'.', static_cast<char>('0' + fraction / 100),
                            static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
  out->append(decimals, 4);
}

}  // namespace sy::proxy
