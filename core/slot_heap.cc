#include "core/slot_heap.h"

#include <sanitizer/asan_interface.h>  // ASAN_(UN)POISON_MEMORY_REGION: no-ops without ASan

#include <cstring>

#include "core/address_sanitizer.h"

namespace sy::core {
namespace {

// A block's header holds its size class (payload granules - 1); a free block's first 4
// payload bytes hold the next free block's offset (0: none; no block is at offset 0, the
// state is before every block).
uint32_t slotHeapRead32(const char* at) {
  uint32_t value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

void slotHeapWrite32(char* at, uint32_t value) { std::memcpy(at, &value, sizeof value); }

// A free block's first 8 bytes stay addressable: its list link, and ASan's shadow granule (a
// poisoned range must start on one).
constexpr size_t kSlotHeapLinkBytes = 8;

// Without ASan the walks over the free lists below would be work for nothing.
constexpr bool kSlotHeapPoisons = SY_ADDRESS_SANITIZER;

size_t slotHeapPayloadBytes(size_t size_class) { return (size_class + 1) * SlotHeap::kGranule; }

void slotHeapPoisonFree(char* payload, size_t size_class) {
  ASAN_POISON_MEMORY_REGION(payload + kSlotHeapLinkBytes,
                            slotHeapPayloadBytes(size_class) - kSlotHeapLinkBytes);
}

void slotHeapUnpoison(char* payload, size_t size_class) {
  ASAN_UNPOISON_MEMORY_REGION(payload, slotHeapPayloadBytes(size_class));
}

}  // namespace

bool SlotHeap::create(char* block, uint32_t end, uint32_t& top) {
  if (top % kGranule != 0 || end < top || end - top < kStateBytes) return false;
  std::memset(block + top, 0, kStateBytes);  // every list empty
  top += static_cast<uint32_t>(kStateBytes);
  return true;
}

uint32_t SlotHeap::head(size_t size_class) const {
  return slotHeapRead32(block_ + begin_ + size_class * sizeof(uint32_t));
}

void SlotHeap::setHead(size_t size_class, uint32_t offset) {
  slotHeapWrite32(block_ + begin_ + size_class * sizeof(uint32_t), offset);
}

void* SlotHeap::allocate(size_t size) {
  if (size > kMaxBytes) return nullptr;
  const size_t size_class = size == 0 ? 0 : (size - 1) / kGranule;
  if (const uint32_t free_block = head(size_class); free_block != 0) {
    setHead(size_class, slotHeapRead32(block_ + free_block));
    slotHeapUnpoison(block_ + free_block, size_class);
    return block_ + free_block;
  }
  const size_t bytes = kGranule + (size_class + 1) * kGranule;
  if (bytes > end_ - top_) return nullptr;
  char* header = block_ + top_;
  slotHeapWrite32(header, static_cast<uint32_t>(size_class));
  top_ += static_cast<uint32_t>(bytes);
  return header + kGranule;
}

void SlotHeap::release(void* p) {
  char* payload = static_cast<char*>(p);
  const uint32_t size_class = slotHeapRead32(payload - kGranule);
  slotHeapWrite32(payload, head(size_class));
  setHead(size_class, static_cast<uint32_t>(payload - block_));
  slotHeapPoisonFree(payload, size_class);
}

size_t SlotHeap::usableBytes(const void* p) const {
  return (slotHeapRead32(static_cast<const char*>(p) - kGranule) + 1) * kGranule;
}

void SlotHeap::zeroFreeBlocks() {
  for (size_t size_class = 0; size_class < kClasses; ++size_class) {
    const size_t bytes = slotHeapPayloadBytes(size_class);
    for (uint32_t at = head(size_class); at != 0; at = slotHeapRead32(block_ + at)) {
      slotHeapUnpoison(block_ + at, size_class);
      std::memset(block_ + at + sizeof(uint32_t), 0, bytes - sizeof(uint32_t));
    }
  }
}

void SlotHeap::poisonFreeBlocks() {
  if (!kSlotHeapPoisons) return;
  for (size_t size_class = 0; size_class < kClasses; ++size_class) {
    for (uint32_t at = head(size_class); at != 0; at = slotHeapRead32(block_ + at)) {
      slotHeapPoisonFree(block_ + at, size_class);
    }
  }
}

void SlotHeap::unpoisonFreeBlocks() {
  if (!kSlotHeapPoisons) return;
  for (size_t size_class = 0; size_class < kClasses; ++size_class) {
    for (uint32_t at = head(size_class); at != 0; at = slotHeapRead32(block_ + at)) {
      slotHeapUnpoison(block_ + at, size_class);
    }
  }
}

size_t SlotHeap::freeBlocks() const {
  size_t count = 0;
  for (size_t size_class = 0; size_class < kClasses; ++size_class) {
    for (uint32_t at = head(size_class); at != 0; at = slotHeapRead32(block_ + at)) ++count;
  }
  return count;
}

}  // namespace sy::core
