// ZeroRunImage (core/zero_run_image.h): what it keeps of a mostly-zero range comes back byte
// for byte into a zeroed copy of the range, and only the non-zero runs take space.

#include "core/zero_run_image.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

// `size` bytes of random runs: zero runs and non-zero runs of random lengths, some long.
std::string zeroRunImageSample(std::mt19937& random, size_t size) {
  std::string bytes(size, '\0');
  size_t at = 0;
  while (at < size) {
    const size_t length = std::uniform_int_distribution<size_t>(1, 300)(random);
    const bool zeros = std::bernoulli_distribution(0.6)(random);
    for (size_t i = at; i < std::min(size, at + length); ++i) {
      // Non-zero runs may hold single zero bytes too.
      bytes[i] = zeros ? 0 : static_cast<char>(std::uniform_int_distribution<int>(0, 255)(random));
    }
    at += length;
  }
  return bytes;
}

TEST(ZeroRunImageTest, RandomRangesComeBackByteForByte) {
  std::mt19937 random(19);
  for (int round = 0; round < 200; ++round) {
    const size_t size = std::uniform_int_distribution<size_t>(0, 30000)(random);
    const std::string original = zeroRunImageSample(random, size);
    ZeroRunImage image;
    image.add(original.data(), 0, original.size());
    image.seal();
    std::string restored(size, '\0');
    image.restoreInto(restored.data());
    ASSERT_EQ(restored, original) << "round " << round;
  }
}

TEST(ZeroRunImageTest, SkippedRangeComesBackAsZeros) {
  std::string original(4096, 'x');
  ZeroRunImage image;
  image.add(original.data(), 0, 1000);
  image.add(original.data(), 3000, 4096);
  image.seal();
  std::string restored(4096, '\0');
  image.restoreInto(restored.data());
  EXPECT_EQ(restored.substr(0, 1000), original.substr(0, 1000));
  EXPECT_EQ(restored.substr(1000, 2000), std::string(2000, '\0'));
  EXPECT_EQ(restored.substr(3000), original.substr(3000));
}

TEST(ZeroRunImageTest, ZerosTakeNoSpace) {
  std::string sparse(25000, '\0');
  ZeroRunImage empty;
  empty.add(sparse.data(), 0, sparse.size());
  empty.seal();
  EXPECT_TRUE(empty.empty());
  // Eight pointers spread over the range: eight small runs, far less than the range.
  for (size_t i = 0; i < 8; ++i) sparse[i * 3000 + 5] = static_cast<char>(0x40 + i);
  ZeroRunImage image;
  image.add(sparse.data(), 0, sparse.size());
  image.seal();
  EXPECT_LE(image.storedBytes(), 8u * 32);
  std::string restored(sparse.size(), '\0');
  image.restoreInto(restored.data());
  EXPECT_EQ(restored, sparse);
  image.clear();
  EXPECT_TRUE(image.empty());
}

TEST(ZeroRunImageTest, RunHeadersAreSmallAndFarRunsComeBackAfterAClear) {
  std::string sparse(100000, '\0');
  // Single bytes: a run each, its header a gap and a length of 1-3 bytes each.
  for (size_t at : {size_t{5}, size_t{200}, size_t{70000}, size_t{99999}}) sparse[at] = 'x';
  ZeroRunImage image;
  image.add(sparse.data(), 0, 50000);
  image.add(sparse.data(), 60000, sparse.size());
  image.seal();
  EXPECT_LE(image.size(), 4u * (1 + 3 + 1));
  std::string restored(sparse.size(), '\0');
  image.restoreInto(restored.data());
  EXPECT_EQ(restored, sparse);
  // A clear starts the offsets over.
  image.clear();
  std::string other(300, '\0');
  other[150] = 'y';
  image.add(other.data(), 100, other.size());
  image.seal();
  std::string again(300, '\0');
  image.restoreInto(again.data());
  EXPECT_EQ(again, other);
}

}  // namespace
}  // namespace sy::core
