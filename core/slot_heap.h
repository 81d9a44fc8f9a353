#pragma once

#include <cstddef>
#include <cstdint>

namespace sy::core {

// A small allocator with frees inside a fixed block of memory, whose every byte (its free lists
// too) lives in that block: a copy of the block's bytes is a copy of the heap. Made for nghttp2
// sessions (proxy/h2_session_memory.h): what a session allocates after it is made (the HPACK
// tables' entries, its outbound queue's array, a stream's state while it runs) stays in the
// session's slot, which hibernation packs as one range, instead of being separate malloc
// blocks that outlive every stream.
//
// Blocks of up to kMaxBytes in size classes of kGranule bytes, each with a kGranule-byte header
// (its class); a freed block goes on its class's list and is reused as is. Blocks are carved
// from the block's bump offset (`top`, shared with whoever allocated in the block before the
// heap was made) up to `end`. A request it cannot serve (too large, or the block is full and
// its class's list empty) returns nullptr: the caller takes the heap instead.
//
// The object is a view (block, begin, end, top); the heap's state is in block[begin, begin +
// kStateBytes). Not thread-safe; offsets fit 32 bits.
class SlotHeap {
 public:
  static constexpr size_t kGranule = 16;  // malloc's alignment on x86-64
  static constexpr size_t kMaxBytes = 1024;
  static constexpr size_t kClasses = kMaxBytes / kGranule;
  static constexpr size_t kStateBytes = kClasses * sizeof(uint32_t);

  // `block` kGranule-aligned; `begin` (where the state is) and `top` multiples of kGranule.
  SlotHeap(char* block, uint32_t begin, uint32_t end, uint32_t& top)
      : block_(block), begin_(begin), end_(end), top_(top) {}

  // Lays an empty heap's state at `top` (which moves past it); false when it does not fit.
  static bool create(char* block, uint32_t end, uint32_t& top);

  // A kGranule-aligned block of at least `size` bytes; nullptr when it cannot (see above). Its
  // bytes are whatever they were.
  void* allocate(size_t size);
  // p must be a live block of this heap (owns(p)).
  void release(void* p);
  // Bytes usable in the live block p.
  size_t usableBytes(const void* p) const;
  // p is in the part of the block the heap's blocks were carved from.
  bool owns(const void* p) const {
    const size_t at = static_cast<size_t>(static_cast<const char*>(p) - block_);
    return p >= block_ && at >= begin_ + kStateBytes && at < top_;
  }
  // Zeros the free blocks' bytes (all but their list link): an image of the block then keeps
  // nothing of what they held. Leaves them addressable for ASan (a whole-block copy follows).
  void zeroFreeBlocks();
  // Under AddressSanitizer a free block's bytes past its list link are poisoned (release()),
  // so a use after free inside the block is reported as one on the heap would be; the block
  // is mmap'ed memory, which ASan otherwise sees as one addressable range. Code that reads the
  // whole block (a copy, an image) unpoisons the free blocks first and poisons them after. No-ops
  // without ASan.
  void poisonFreeBlocks();
  void unpoisonFreeBlocks();
  // How many blocks are on the free lists (for tests).
  size_t freeBlocks() const;

 private:
  uint32_t head(size_t size_class) const;
  void setHead(size_t size_class, uint32_t offset);

  char* const block_;
  const uint32_t begin_;
  const uint32_t end_;
  uint32_t& top_;
};

}  // namespace sy::core
