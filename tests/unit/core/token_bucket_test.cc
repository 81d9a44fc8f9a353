// The token bucket behind rate limits, driven by a clock of the test's own (no wall time).

#include "core/token_bucket.h"

#include "gtest/gtest.h"

namespace sy::core {
namespace {

constexpr uint64_t kSecond = 1000000000;

TEST(TokenBucketTest, StartsFullAndAdmitsTheBurstAtOnce) {
  const uint64_t t0 = 5 * kSecond;
  TokenBucket bucket(/*burst=*/3, t0);
  EXPECT_TRUE(bucket.take(1.0, 3, t0, nullptr));
  EXPECT_TRUE(bucket.take(1.0, 3, t0, nullptr));
  EXPECT_TRUE(bucket.take(1.0, 3, t0, nullptr));
  uint64_t wait_ns = 0;
  EXPECT_FALSE(bucket.take(1.0, 3, t0, &wait_ns));
  // Empty at a rate of 1/s: the next token is a second away.
  EXPECT_GT(wait_ns, kSecond - kSecond / 100);
  EXPECT_LE(wait_ns, kSecond + 1);
}

TEST(TokenBucketTest, RefillsAtTheRateAndNoFurtherThanTheBurst) {
  TokenBucket bucket(2, 0);
  EXPECT_TRUE(bucket.take(10.0, 2, 0, nullptr));
  EXPECT_TRUE(bucket.take(10.0, 2, 0, nullptr));
  EXPECT_FALSE(bucket.take(10.0, 2, 0, nullptr));
  // 10 per second: one token every 100 ms.
  EXPECT_FALSE(bucket.take(10.0, 2, 99 * kSecond / 1000, nullptr));
  EXPECT_TRUE(bucket.take(10.0, 2, 101 * kSecond / 1000, nullptr));
  // A long pause fills the bucket to its burst, not beyond.
  EXPECT_DOUBLE_EQ(bucket.tokens(10.0, 2, 3600 * kSecond), 2.0);
  EXPECT_TRUE(bucket.take(10.0, 2, 3600 * kSecond, nullptr));
  EXPECT_TRUE(bucket.take(10.0, 2, 3600 * kSecond, nullptr));
  EXPECT_FALSE(bucket.take(10.0, 2, 3600 * kSecond, nullptr));
}

TEST(TokenBucketTest, SustainedRateMatchesTheConfiguredRate) {
  // Asking every millisecond for 10 s at 50/s with a burst of 5: 5 + 50 * 10 admitted.
  TokenBucket bucket(5, 0);
  int admitted = 0;
  for (uint64_t ms = 0; ms < 10000; ++ms) {
    if (bucket.take(50.0, 5, ms * kSecond / 1000, nullptr)) ++admitted;
  }
  EXPECT_GE(admitted, 5 + 499);
  EXPECT_LE(admitted, 5 + 500);
}

TEST(TokenBucketTest, WaitSaysWhenTheNextRequestIsAdmitted) {
  TokenBucket bucket(1, 0);
  ASSERT_TRUE(bucket.take(0.5, 1, 0, nullptr));  // one every 2 s
  uint64_t wait_ns = 0;
  ASSERT_FALSE(bucket.take(0.5, 1, kSecond / 2, &wait_ns));
  EXPECT_FALSE(bucket.take(0.5, 1, kSecond / 2 + wait_ns - kSecond / 1000, nullptr));
  EXPECT_TRUE(bucket.take(0.5, 1, kSecond / 2 + wait_ns, nullptr));
}

TEST(TokenBucketTest, ASmallerBurstAfterAReloadCapsTheTokens) {
  TokenBucket bucket(100, 0);
  EXPECT_DOUBLE_EQ(bucket.tokens(1.0, 100, 0), 100.0);
  EXPECT_DOUBLE_EQ(bucket.tokens(1.0, 2, 0), 2.0);
}

TEST(TokenBucketTest, AClockGoingBackwardsAddsNothing) {
  TokenBucket bucket(1, 10 * kSecond);
  ASSERT_TRUE(bucket.take(1.0, 1, 10 * kSecond, nullptr));
  EXPECT_FALSE(bucket.take(1.0, 1, 5 * kSecond, nullptr));
  EXPECT_FALSE(bucket.take(1.0, 1, 10 * kSecond + kSecond / 2, nullptr));
  EXPECT_TRUE(bucket.take(1.0, 1, 11 * kSecond, nullptr));
}

}  // namespace
}  // namespace sy::core
