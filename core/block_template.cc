#include "core/block_template.h"

#include <algorithm>
#include <cstring>

namespace sy::core {

void BlockTemplate::capture(const char* block, size_t bytes, size_t span) {
  const size_t count = bytes / sizeof(uint64_t);
  words_.assign(count, 0);
  relocated_.assign((count + 63) / 64, 0);
  const auto base = reinterpret_cast<uintptr_t>(block);
  for (size_t i = 0; i < count; ++i) {
    uint64_t word;
    std::memcpy(&word, block + i * sizeof word, sizeof word);
    if (word - base < span) {  // unsigned: below the block wraps to a large value
      word -= base;
      relocated_[i / 64] |= uint64_t{1} << (i % 64);
    }
    words_[i] = word;
  }
}

void BlockTemplate::xorInto(char* block, size_t begin, size_t end) const {
  const auto base = reinterpret_cast<uintptr_t>(block);
  const size_t last = std::min(end / sizeof(uint64_t), words_.size());
  for (size_t i = begin / sizeof(uint64_t); i < last; ++i) {
    const uint64_t relocate = (relocated_[i / 64] >> (i % 64)) & 1;
    const uint64_t expected = words_[i] + (base & (0 - relocate));
    uint64_t word;
    std::memcpy(&word, block + i * sizeof word, sizeof word);
    word ^= expected;
    std::memcpy(block + i * sizeof word, &word, sizeof word);
  }
}

}  // namespace sy::core
