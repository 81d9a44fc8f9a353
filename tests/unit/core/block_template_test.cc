// BlockTemplate (core/block_template.h): a block that holds what the template held, at another
// address, XORs to zeros; whatever the block holds, XOR twice gives it back.

#include "core/block_template.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

// A block of 64 words: values, a pointer to its own word 40, a pointer outside it.
void fillBlockTemplateSample(uint64_t* block, uint64_t outside) {
  for (size_t i = 0; i < 64; ++i) block[i] = i % 3 == 0 ? 0 : 1000 + i;
  block[5] = reinterpret_cast<uintptr_t>(&block[40]);
  block[6] = outside;
}

TEST(BlockTemplateTest, TheSameStructuresElsewhereLeaveNoDifference) {
  std::vector<uint64_t> first(64), second(64);
  fillBlockTemplateSample(first.data(), 0x12345678);
  fillBlockTemplateSample(second.data(), 0x12345678);
  BlockTemplate reference;
  reference.capture(reinterpret_cast<const char*>(first.data()), 64 * 8, 64 * 8);
  EXPECT_EQ(reference.bytes(), 64u * 8);
  const std::vector<uint64_t> original = second;
  reference.xorInto(reinterpret_cast<char*>(second.data()), 0, 64 * 8);
  EXPECT_EQ(second, std::vector<uint64_t>(64, 0));  // the inner pointer too, relocated
  reference.xorInto(reinterpret_cast<char*>(second.data()), 0, 64 * 8);
  EXPECT_EQ(second, original);
}

TEST(BlockTemplateTest, DifferencesStayAndAnyContentComesBack) {
  std::vector<uint64_t> first(64), second(64);
  fillBlockTemplateSample(first.data(), 0x12345678);
  fillBlockTemplateSample(second.data(), 0x9abcdef0);  // a pointer outside: not relocated
  second[20] = 7;
  BlockTemplate reference;
  reference.capture(reinterpret_cast<const char*>(first.data()), 64 * 8, 64 * 8);
  reference.xorInto(reinterpret_cast<char*>(second.data()), 0, 64 * 8);
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(second[i] != 0, i == 6 || i == 20) << i;
  }
  std::mt19937_64 random(19);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> block(80);  // longer than the template: the rest stays as it is
    for (uint64_t& word : block) word = round % 2 == 0 ? random() : random() % 4;
    const std::vector<uint64_t> original = block;
    const size_t begin = 8 * (random() % 40);
    reference.xorInto(reinterpret_cast<char*>(block.data()), begin, 80 * 8);
    for (size_t i = 0; i < begin / 8; ++i) ASSERT_EQ(block[i], original[i]);
    for (size_t i = 64; i < 80; ++i) ASSERT_EQ(block[i], original[i]);
    reference.xorInto(reinterpret_cast<char*>(block.data()), begin, 80 * 8);
    ASSERT_EQ(block, original) << round;
  }
}

}  // namespace
}  // namespace sy::core
