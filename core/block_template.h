#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sy::core {

// The bytes of one memory block, to compare blocks of the same layout against: what differs
// from it is usually far less than the block (ZeroRunImage keeps only the differences). Made
// for nghttp2 sessions (proxy/h2_session_memory.h), whose slots hold the same structures with
// mostly the same values: options, callbacks, settings, and pointers between the structures.
//
// Those pointers differ from block to block only by where the block is, so the template keeps
// every word that pointed into its own block as an offset, and reads it back relative to the
// block it is applied to. Which words count as pointers is decided once, at capture; a value
// that only looked like one costs nothing but a larger difference, never a wrong result.
class BlockTemplate {
 public:
  // Takes block[0, bytes) as the template (block 8-byte aligned, bytes a multiple of 8); words
  // pointing into [block, block + span) are kept as offsets from block.
  void capture(const char* block, size_t bytes, size_t span);
  bool empty() const { return words_.empty(); }
  // XORs block[begin, end) (8-byte aligned offsets) with the template as it would read at
  // `block`: where the block agrees with the template, zeros. Done twice, a no-op; bytes past
  // the template's end are left as they are.
  void xorInto(char* block, size_t begin, size_t end) const;
  size_t bytes() const { return words_.size() * sizeof(uint64_t); }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint64_t> relocated_;  // bit i: words_[i] is an offset into the block
};

}  // namespace sy::core
