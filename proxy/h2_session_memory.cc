#include "proxy/h2_session_memory.h"

#include <sanitizer/asan_interface.h>  // ASAN_UNPOISON_MEMORY_REGION: a no-op without ASan
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace sy::proxy {
namespace {

size_t h2SlotBytesForPageSize() {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t page_bytes = page > 0 ? static_cast<size_t>(page) : 4096;
  return (H2SlotPool::kMinSlotBytes + page_bytes - 1) / page_bytes * page_bytes;
}

// Bump allocations are aligned as malloc's are.
constexpr size_t kH2SlotAlignment = alignof(std::max_align_t);

// nghttp2's frame buffer holds one frame of up to 16,384 payload bytes and its header.
constexpr size_t kH2MinFrameBufferBytes = 16384;

}  // namespace

H2SlotPool::H2SlotPool(size_t max_slots)
    : max_slots_(max_slots), slot_bytes_(h2SlotBytesForPageSize()) {}

H2SlotPool::~H2SlotPool() {
  // A slot still in use (a session not freed yet) keeps its mapping: better a leak at exit
  // than a session reading unmapped memory.
  if (in_use_ != 0) return;
  for (const auto& [address, bytes] : regions_) munmap(address, bytes);
}

char* H2SlotPool::acquire() {
  if (free_.empty()) {
    if (made_ >= max_slots_) return nullptr;
    const size_t slots = std::min(kSlotsPerRegion, max_slots_ - made_);
    const size_t bytes = slots * slot_bytes_;
    // MAP_NORESERVE: only the pages sessions touch count; most of a slot stays untouched.
    void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) return nullptr;
    regions_.emplace_back(region, bytes);
    made_ += slots;
    // Handed out lowest address first.
    for (size_t i = slots; i > 0; --i)
      free_.push_back(static_cast<char*>(region) + (i - 1) * slot_bytes_);
  }
  char* slot = free_.back();
  free_.pop_back();
  ++in_use_;
  return slot;
}

void H2SlotPool::release(char* slot) {
  madvise(slot, slot_bytes_, MADV_DONTNEED);       // private anonymous pages read as zeros again
  ASAN_UNPOISON_MEMORY_REGION(slot, slot_bytes_);  // its heap's free blocks were poisoned
  free_.push_back(slot);
  --in_use_;
}

H2SessionMemory::~H2SessionMemory() {
  // A hibernated slot's state (its pool) is packed away: its owner wakes it first.
  if (hasSlot() && !hibernated()) state()->pool->release(slot_);
}

nghttp2_mem H2SessionMemory::beginCapture(H2SlotPool* pool) {
  if (slot_ == nullptr && pool != nullptr) {
    if (char* slot = pool->acquire()) {
      slot_ = slot;
      new (slot) SlotState{pool,
                           static_cast<uint32_t>(pool->slotBytes()),
                           static_cast<uint32_t>(kStateBytes),
                           0,
                           0,
                           kNoHeap,
                           false};
    }
  }
  SlotState* slot_state = state();
  if (slot_state != nullptr) slot_state->capturing = true;
  return {slot_state, allocate, release, allocateZeroed, reallocate};
}

void* H2SessionMemory::allocateFirstBlock(size_t size) {
  if (hasSlot()) {
    if (void* at = allocate(size, state()); at == firstBlock()) return at;
    // Not where firstBlock() finds it (the slot was used before, or it did not fit): no slot.
    state()->pool->release(slot_);
    slot_ = nullptr;
    return nullptr;
  }
  void* block = std::malloc(size);
  if (block != nullptr)
    slot_ = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(block) | kHeapTag);
  return block;
}

void H2SessionMemory::releaseFirstBlock() {
  if (slot_ == nullptr || hasSlot()) return;  // a capture's block goes back with the slot
  std::free(firstBlock());
  slot_ = nullptr;
}

void* H2SessionMemory::SlotState::bump(size_t size) {
  const size_t rounded = (size + kH2SlotAlignment - 1) / kH2SlotAlignment * kH2SlotAlignment;
  if (rounded < size || rounded > slot_bytes - used) return nullptr;
  void* at = slot() + used;
  used += static_cast<uint32_t>(rounded);
  return at;
}

void H2SessionMemory::endCapture() {
  SlotState* slot_state = state();
  if (slot_state == nullptr) return;
  slot_state->capturing = false;
  if (slot_state->heap_begin == kNoHeap) {
    const uint32_t begin = slot_state->used;
    if (core::SlotHeap::create(slot_, slot_state->slot_bytes, slot_state->used)) {
      slot_state->heap_begin = begin;
    }
  }
}

void* H2SessionMemory::SlotState::allocateAfterCapture(size_t size) {
  if (heap_begin != kNoHeap) {
    if (void* at = heap().allocate(size)) return at;
  }
  return std::malloc(size);
}

void* H2SessionMemory::allocate(size_t size, void* self) {
  auto* memory = static_cast<SlotState*>(self);
  if (memory == nullptr) return std::malloc(size);
  if (memory->capturing) {
    if (void* at = memory->bump(size)) return at;
    return std::malloc(size);
  }
  return memory->allocateAfterCapture(size);
}

void H2SessionMemory::release(void* pointer, void* self) {
  auto* memory = static_cast<SlotState*>(self);
  if (memory == nullptr || !memory->inSlot(pointer)) {
    std::free(pointer);
  } else if (memory->inSlotHeap(pointer)) {
    memory->heap().release(pointer);
  }
  // Else a capture's allocation: given back with the whole slot.
}

void* H2SessionMemory::allocateZeroed(size_t count, size_t size, void* self) {
  auto* memory = static_cast<SlotState*>(self);
  if (memory == nullptr) return std::calloc(count, size);
  if (size != 0 && count > SIZE_MAX / size) return nullptr;
  if (memory->capturing) {
    // Slot bytes are zero already: fresh pages, or given back with MADV_DONTNEED, and the bump
    // never hands out a byte twice.
    if (void* at = memory->bump(count * size)) return at;
    return std::calloc(count, size);
  }
  if (memory->heap_begin != kNoHeap) {
    // A heap block may have been used before.
    if (void* at = memory->heap().allocate(count * size)) return std::memset(at, 0, count * size);
  }
  return std::calloc(count, size);
}

void* H2SessionMemory::reallocate(void* pointer, size_t size, void* self) {
  auto* memory = static_cast<SlotState*>(self);
  if (memory == nullptr) return std::realloc(pointer, size);
  if (pointer == nullptr) {
    if (memory->capturing) {
      if (void* at = memory->bump(size)) {
        // session_new's one realloc(NULL): the frame buffer (nghttp2_bufs_init3 reserving its
        // chunk). Anything else leaves no dead range, to stay on the safe side.
        const size_t begin = static_cast<char*>(at) - memory->slot();
        const bool first = memory->dead_begin == memory->dead_end;
        if (first && size >= kH2MinFrameBufferBytes) {
          memory->dead_begin = static_cast<uint32_t>(begin);
          memory->dead_end = memory->used;  // the bump's rounded end
        } else {
          memory->dead_begin = memory->dead_end = 0;
        }
        return at;
      }
      return std::malloc(size);
    }
    return memory->allocateAfterCapture(size);
  }
  if (!memory->inSlot(pointer)) return std::realloc(pointer, size);
  size_t old_bytes = 0;
  const bool in_heap = memory->inSlotHeap(pointer);
  if (in_heap) {
    old_bytes = memory->heap().usableBytes(pointer);
    if (size <= old_bytes && size != 0) return pointer;  // fits where it is
  } else {
    // A capture's allocation, whose size is not known: copy what can be, never past the
    // slot's end.
    old_bytes = size_t{memory->slot_bytes} -
                static_cast<size_t>(static_cast<char*>(pointer) - memory->slot());
  }
  // The new block may be in the slot's heap, which an unknown old size may overlap.
  void* moved = memory->allocateAfterCapture(size);
  if (moved == nullptr) return nullptr;
  // Under ASan, a copy of unknown length may cross free heap blocks: readable for it.
  const bool crosses_heap = !in_heap && memory->heap_begin != kNoHeap;
  if (crosses_heap) memory->heap().unpoisonFreeBlocks();
  std::memmove(moved, pointer, std::min(size, old_bytes));
  if (crosses_heap) memory->heap().poisonFreeBlocks();
  if (in_heap) memory->heap().release(pointer);
  return moved;
}

bool H2SessionMemory::hibernate(H2SlotPool& pool) {
  if (!hasSlot() || hibernated()) return false;
  core::BlockTemplate& reference = pool.slotTemplate();
  SlotState& slot_state = *state();
  // What nghttp2 freed in the heap may hold anything: as zeros it costs the image nothing.
  if (slot_state.heap_begin != kNoHeap) slot_state.heap().zeroFreeBlocks();
  if (reference.empty()) reference.capture(slot_, slot_state.used, slot_state.slot_bytes);
  // The state is in the first range: its copy says where the ranges are while they change.
  const SlotState live = slot_state;
  // The slot is given back next: its bytes may become their difference from the template.
  live.forEachLiveRange([this, &reference](size_t begin, size_t end) {
    reference.xorInto(slot_, begin, end);
    image_.add(slot_, begin, end);
  });
  image_.seal();
  madvise(slot_, live.slot_bytes, MADV_DONTNEED);
  return true;
}

void H2SessionMemory::wake(H2SlotPool& pool) {
  if (!hibernated()) return;
  // The differences back into zeroed pages, then the template over them: the state first,
  // whose ranges say where the rest goes.
  image_.restoreInto(slot_);
  const core::BlockTemplate& reference = pool.slotTemplate();
  reference.xorInto(slot_, 0, kStateBytes);
  state()->forEachLiveRange([this, &reference](size_t begin, size_t end) {
    begin = std::max(begin, kStateBytes);
    if (begin < end) reference.xorInto(slot_, begin, end);
  });
  image_.clear();
  // zeroFreeBlocks() left them readable for the image; ASan watches them again.
  if (SlotState& slot_state = *state(); slot_state.heap_begin != kNoHeap) {
    slot_state.heap().poisonFreeBlocks();
  }
}

}  // namespace sy::proxy
