// SlotHeap (core/slot_heap.h): an allocator whose state is inside the block it carves, so a copy
// of the block's bytes (a hibernation) is a copy of the heap.

#include "core/slot_heap.h"

#include <sanitizer/asan_interface.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/address_sanitizer.h"
#include "gtest/gtest.h"

namespace sy::core {
namespace {

struct SlotHeapBlock {
  explicit SlotHeapBlock(uint32_t bytes, uint32_t start = 64)
      : storage(static_cast<char*>(std::aligned_alloc(SlotHeap::kGranule, bytes))),
        end(bytes),
        begin(start),
        top(start) {
    std::memset(storage, 0x77, bytes);  // create() must not rely on zeros
  }
  ~SlotHeapBlock() { std::free(storage); }
  SlotHeap heap() { return SlotHeap(storage, begin, end, top); }

  char* storage;
  uint32_t end;
  uint32_t begin;
  uint32_t top;
};

TEST(SlotHeapTest, BlocksAreAlignedDistinctAndReusedBySizeClass) {
  SlotHeapBlock block(8192);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  EXPECT_EQ(block.top, block.begin + SlotHeap::kStateBytes);
  SlotHeap heap = block.heap();
  void* a = heap.allocate(80);
  void* b = heap.allocate(80);
  void* c = heap.allocate(1);
  void* zero = heap.allocate(0);
  for (void* p : {a, b, c, zero}) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % SlotHeap::kGranule, 0u);
    EXPECT_TRUE(heap.owns(p));
  }
  EXPECT_NE(a, b);
  EXPECT_EQ(heap.usableBytes(a), 80u);
  EXPECT_EQ(heap.usableBytes(c), 16u);
  std::memset(a, 1, 80);
  std::memset(b, 2, 80);  // no overlap
  EXPECT_EQ(static_cast<char*>(a)[79], 1);
  const uint32_t top = block.top;
  heap.release(a);
  EXPECT_EQ(heap.freeBlocks(), 1u);
  EXPECT_NE(heap.allocate(96), a);  // another class: carved
  EXPECT_EQ(heap.allocate(65), a);  // the same class (65-80) takes the freed block
  EXPECT_EQ(heap.freeBlocks(), 0u);
  EXPECT_GT(block.top, top);
  EXPECT_FALSE(heap.owns(block.storage + block.begin));  // the state is not a block
  EXPECT_FALSE(heap.owns(block.storage + block.top));    // nor what is not carved yet
}

TEST(SlotHeapTest, TooLargeOrFullGivesNullAndFreedBlocksStillServe) {
  SlotHeapBlock block(SlotHeap::kStateBytes + 64 + 3 * (SlotHeap::kGranule + 64));
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  SlotHeap heap = block.heap();
  EXPECT_EQ(heap.allocate(SlotHeap::kMaxBytes + 1), nullptr);
  std::vector<void*> blocks;
  for (void* p; (p = heap.allocate(64)) != nullptr;) blocks.push_back(p);
  EXPECT_EQ(blocks.size(), 3u);
  EXPECT_EQ(heap.allocate(16), nullptr);  // full
  heap.release(blocks[1]);
  EXPECT_EQ(heap.allocate(128), nullptr);  // another class: nothing to carve
  EXPECT_EQ(heap.allocate(50), blocks[1]);
}

TEST(SlotHeapTest, CreateFailsWithoutRoomForTheState) {
  SlotHeapBlock block(SlotHeap::kStateBytes + 32, 64);
  const uint32_t top = block.top;
  EXPECT_FALSE(SlotHeap::create(block.storage, block.end, block.top));
  EXPECT_EQ(block.top, top);
  uint32_t misaligned = 8;
  EXPECT_FALSE(SlotHeap::create(block.storage, block.end, misaligned));
}

TEST(SlotHeapTest, ZeroFreeBlocksKeepsLiveBlocksAndTheLists) {
  SlotHeapBlock block(8192);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  SlotHeap heap = block.heap();
  auto* live = static_cast<char*>(heap.allocate(48));
  auto* freed = static_cast<char*>(heap.allocate(48));
  auto* freed_too = static_cast<char*>(heap.allocate(200));
  std::memset(live, 'L', 48);
  std::memset(freed, 'F', 48);
  std::memset(freed_too, 'G', 200);
  heap.release(freed);
  heap.release(freed_too);
  heap.zeroFreeBlocks();
  for (int i = 0; i < 48; ++i) ASSERT_EQ(live[i], 'L');
  for (int i = 4; i < 48; ++i) ASSERT_EQ(freed[i], 0);
  for (int i = 4; i < 208; ++i) ASSERT_EQ(freed_too[i], 0);
  EXPECT_EQ(heap.freeBlocks(), 2u);
  EXPECT_EQ(heap.allocate(40), freed);
  EXPECT_EQ(heap.allocate(208), freed_too);
}

// The heap's state is in the block: a copy of the block's bytes put back later (what a
// hibernation does) is the same heap.
TEST(SlotHeapTest, TheBlocksBytesAreTheWholeHeap) {
  SlotHeapBlock block(8192);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  auto* kept = static_cast<char*>(block.heap().allocate(100));
  std::memcpy(kept, "kept", 5);
  void* freed = block.heap().allocate(100);
  block.heap().release(freed);
  block.heap().unpoisonFreeBlocks();  // as a hibernation does before it reads the whole block
  const std::string copy(block.storage, block.end);
  const uint32_t top = block.top;
  std::memset(block.storage, 0, block.end);
  std::memcpy(block.storage, copy.data(), copy.size());
  ASSERT_EQ(block.top, top);
  block.heap().poisonFreeBlocks();
  EXPECT_STREQ(kept, "kept");
  EXPECT_EQ(block.heap().allocate(97), freed);  // the same class (97-112)
}

// Random allocations and frees against a model: no two live blocks overlap, contents survive.
TEST(SlotHeapTest, RandomPatternsKeepEveryLiveBlocksBytes) {
  SlotHeapBlock block(16384);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  std::mt19937 random(19);
  std::map<char*, std::pair<size_t, char>> live;  // block → size, fill byte
  size_t refused = 0;
  for (int step = 0; step < 20000; ++step) {
    SlotHeap heap = block.heap();
    if (live.empty() || random() % 3 != 0) {
      const size_t size = random() % (SlotHeap::kMaxBytes + 1);
      auto* p = static_cast<char*>(heap.allocate(size));
      if (p == nullptr) {
        ++refused;
        continue;
      }
      ASSERT_GE(heap.usableBytes(p), size);
      const char fill = static_cast<char>(random());
      std::memset(p, fill, size);
      ASSERT_TRUE(live.emplace(p, std::make_pair(size, fill)).second);
    } else {
      auto it = live.begin();
      std::advance(it, random() % live.size());
      for (size_t i = 0; i < it->second.first; ++i) ASSERT_EQ(it->first[i], it->second.second);
      heap.release(it->first);
      live.erase(it);
    }
  }
  EXPECT_GT(refused, 0u);  // the block filled up at times
  char* previous_end = nullptr;
  for (const auto& [p, size_fill] : live) {
    EXPECT_GE(p, previous_end);
    previous_end = p + size_fill.first;
    for (size_t i = 0; i < size_fill.first; ++i) ASSERT_EQ(p[i], size_fill.second);
  }
}

#if SY_ADDRESS_SANITIZER
// The block is one allocation to ASan; the heap tells it which of its bytes are free, so a use
// after free inside the block is reported as one on the heap would be.
TEST(SlotHeapTest, UnderAsanAFreeBlockIsPoisonedUntilHandedOutAgain) {
  SlotHeapBlock block(8192);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  SlotHeap heap = block.heap();
  auto* freed = static_cast<char*>(heap.allocate(64));
  auto* live = static_cast<char*>(heap.allocate(64));
  heap.release(freed);
  EXPECT_FALSE(__asan_address_is_poisoned(freed));  // the list link
  EXPECT_TRUE(__asan_address_is_poisoned(freed + 8));
  EXPECT_TRUE(__asan_address_is_poisoned(freed + 63));
  EXPECT_FALSE(__asan_address_is_poisoned(live));
  EXPECT_FALSE(__asan_address_is_poisoned(live + 63));
  heap.zeroFreeBlocks();  // a hibernation reads the whole block next
  EXPECT_FALSE(__asan_address_is_poisoned(freed + 8));
  heap.poisonFreeBlocks();
  EXPECT_TRUE(__asan_address_is_poisoned(freed + 8));
  EXPECT_EQ(heap.allocate(60), freed);
  EXPECT_FALSE(__asan_address_is_poisoned(freed + 63));
  heap.release(live);
  heap.unpoisonFreeBlocks();
  EXPECT_FALSE(__asan_address_is_poisoned(live + 8));
}

TEST(SlotHeapDeathTest, UnderAsanAReadOfAFreeBlockIsReported) {
  SlotHeapBlock block(8192);
  ASSERT_TRUE(SlotHeap::create(block.storage, block.end, block.top));
  SlotHeap heap = block.heap();
  auto* freed = static_cast<volatile char*>(heap.allocate(64));
  heap.release(const_cast<char*>(freed));
  EXPECT_DEATH(static_cast<void>(freed[16]), "use-after-poison");
}
#endif

}  // namespace
}  // namespace sy::core
