// parseStrictDecimal: digits only, as llhttp reads Content-Length; what absl::SimpleAtoi would
// accept besides (a sign, whitespace) is refused.

#include "http/strict_decimal.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace sy::http {
namespace {

constexpr uint64_t kStrictDecimalUntouched = 12345;

TEST(StrictDecimalTest, ReadsDigits) {
  uint64_t value = kStrictDecimalUntouched;
  EXPECT_TRUE(parseStrictDecimal("0", &value));
  EXPECT_EQ(value, 0u);
  EXPECT_TRUE(parseStrictDecimal("42", &value));
  EXPECT_EQ(value, 42u);
  EXPECT_TRUE(parseStrictDecimal("0007", &value));  // leading zeros are digits (1*DIGIT)
  EXPECT_EQ(value, 7u);
}

TEST(StrictDecimalTest, RefusesEmptySignsAndSpaces) {
  for (const char* text : {"", "+5", "-5", " 5", "5 ", "\t5", "5\r", "0x10", "1_000", "1.0"}) {
    uint64_t value = kStrictDecimalUntouched;
    EXPECT_FALSE(parseStrictDecimal(text, &value)) << '"' << text << '"';
    EXPECT_EQ(value, kStrictDecimalUntouched) << '"' << text << '"';
  }
}

TEST(StrictDecimalTest, ReadsTheLargestValueAndRefusesOverflow) {
  uint64_t value = 0;
  EXPECT_TRUE(parseStrictDecimal("18446744073709551615", &value));
  EXPECT_EQ(value, std::numeric_limits<uint64_t>::max());
  value = kStrictDecimalUntouched;
  EXPECT_FALSE(parseStrictDecimal("18446744073709551616", &value));
  EXPECT_FALSE(parseStrictDecimal("99999999999999999999", &value));
  EXPECT_FALSE(parseStrictDecimal("184467440737095516150", &value));
  EXPECT_EQ(value, kStrictDecimalUntouched);
}

TEST(StrictDecimalTest, HonoursTheMaximum) {
  uint64_t value = 0;
  EXPECT_TRUE(parseStrictDecimal("599", &value, 599));
  EXPECT_EQ(value, 599u);
  value = kStrictDecimalUntouched;
  EXPECT_FALSE(parseStrictDecimal("600", &value, 599));
  EXPECT_FALSE(parseStrictDecimal("5990", &value, 599));
  EXPECT_EQ(value, kStrictDecimalUntouched);
  EXPECT_TRUE(parseStrictDecimal("0", &value, 0));
  EXPECT_EQ(value, 0u);
  EXPECT_FALSE(parseStrictDecimal("1", &value, 0));
}

}  // namespace
}  // namespace sy::http
