// core/ascii_lower.h: the lowercase copy HTTP/2 field names go through (eight bytes at a time).

#include "core/ascii_lower.h"

#include <string>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

char lowerOne(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

TEST(AsciiToLowerCopy, EveryByteValueAtEveryPositionOfAWord) {
  // Each byte value in each lane of the eight-byte path and in the tail.
  for (int value = 0; value < 256; ++value) {
    for (size_t length = 1; length <= 17; ++length) {
      for (size_t at = 0; at < length; ++at) {
        std::string in(length, 'Q');
        in[at] = static_cast<char>(value);
        std::string out(length, '\0');
        asciiToLowerCopy(in, out.data());
        std::string want = in;
        for (char& c : want) c = lowerOne(c);
        ASSERT_EQ(out, want) << "value " << value << " length " << length << " at " << at;
      }
    }
  }
}

TEST(AsciiToLowerCopy, FieldNamesAndInPlace) {
  std::string name = "Content-Type-And-X-Forwarded-For@[`{";
  std::string out(name.size(), '\0');
  asciiToLowerCopy(name, out.data());
  EXPECT_EQ(out, "content-type-and-x-forwarded-for@[`{");
  asciiToLowerCopy(name, name.data());
  EXPECT_EQ(name, out);
  asciiToLowerCopy(std::string_view(), nullptr);  // nothing to do
}

}  // namespace
}  // namespace sy::core
