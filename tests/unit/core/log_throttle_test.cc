#include "core/log_throttle.h"

#include "gtest/gtest.h"

namespace sy::core {
namespace {

TEST(LogThrottleTest, FirstLineGoesOutThenOnePerIntervalWithTheCountHeldBack) {
  LogThrottle throttle(1000);
  EXPECT_EQ(throttle.admit("pool/a", 5000), 0u);
  EXPECT_FALSE(throttle.admit("pool/a", 5001).has_value());
  EXPECT_FALSE(throttle.admit("pool/a", 5999).has_value());
  EXPECT_EQ(throttle.admit("pool/a", 6000), 2u);
  EXPECT_EQ(throttle.admit("pool/a", 9000), 0u);
}

TEST(LogThrottleTest, KeysAreThrottledApart) {
  LogThrottle throttle(1000);
  EXPECT_EQ(throttle.admit("pool/a", 0), 0u);
  EXPECT_EQ(throttle.admit("pool/b", 1), 0u);
  EXPECT_FALSE(throttle.admit("pool/a", 2).has_value());
  EXPECT_FALSE(throttle.admit("pool/b", 3).has_value());
}

TEST(LogThrottleTest, ManyDistinctKeysStayBoundedAndStillLog) {
  LogThrottle throttle(1000);
  for (int i = 0; i < 20000; ++i) {
    EXPECT_TRUE(throttle.admit("k" + std::to_string(i), 10).has_value()) << i;
  }
}

}  // namespace
}  // namespace sy::core
