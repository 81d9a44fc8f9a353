#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/block_template.h"
#include "core/slot_heap.h"
#include "core/zero_run_image.h"

namespace sy::proxy {

// Why this exists: an idle HTTP/2 connection is mostly its nghttp2 session, about 25 KB that
// nghttp2_session_server_new3 allocates at once and keeps for the connection's life (the
// session struct, the HPACK rings and hash map, a 16 KB frame buffer), and nghttp2 has no API
// to size those buffers or let go of them while idle. So the session is created into pages of
// its own (a "slot"), which an idle connection packs away (H2SessionMemory::hibernate) and
// gets back, at the same addresses, before nghttp2 is called again.

// One worker's slots: page-aligned blocks carved from large anonymous mappings (one mmap per
// kSlotsPerRegion connections, not one per connection: few syscalls, few entries against
// vm.max_map_count). A released slot's pages go back to the kernel (MADV_DONTNEED) and the slot
// to a free list; the mappings stay for the worker's life. Loop thread only.
class H2SlotPool {
 public:
  static constexpr size_t kSlotsPerRegion = 256;
  // What nghttp2 1.52's session_new allocates (25,466 bytes) and a heap for what the session
  // allocates later (core/slot_heap.h; ~1.5 KB per stream in flight, ~0.7 KB kept when idle
  // with HPACK tables in use). Pages never touched cost nothing (MAP_NORESERVE).
  static constexpr size_t kMinSlotBytes = 32 * 1024;

  explicit H2SlotPool(size_t max_slots = size_t{1} << 20);
  ~H2SlotPool();
  H2SlotPool(const H2SlotPool&) = delete;
  H2SlotPool& operator=(const H2SlotPool&) = delete;

  // A slot of slotBytes() zero bytes; nullptr when the pool is at max_slots or mmap failed.
  char* acquire();
  // Gives the slot's pages back to the kernel; the slot reads as zeros when acquired again.
  void release(char* slot);
  size_t slotBytes() const { return slot_bytes_; }
  size_t slotsInUse() const { return in_use_; }
  // What hibernating slots are compared against (the first slot that hibernated): sessions
  // made by the same nghttp2 with the same options differ in a few hundred bytes, the rest of
  // their 9 KB of live slot bytes are the same structures with the same values.
  core::BlockTemplate& slotTemplate() { return slot_template_; }

 private:
  const size_t max_slots_;
  const size_t slot_bytes_;  // kMinSlotBytes rounded up to whole pages
  std::vector<std::pair<void*, size_t>> regions_;
  std::vector<char*> free_;
  core::BlockTemplate slot_template_;
  size_t made_ = 0;
  size_t in_use_ = 0;
};

// One nghttp2 session's allocator (nghttp2_mem) and its hibernation. Allocations made between
// beginCapture() and endCapture() (nghttp2_session_server_new3) are bumped into the slot:
// free() of one is a no-op (the slot goes back whole), realloc() moves it. Later ones go to a
// small heap in the rest of the slot (core/slot_heap.h), so that what outlives a stream (the
// HPACK tables' entries, the outbound queue's array) is packed with the session by a
// hibernation, mostly as it is in the template; what does not fit there (large blocks, a slot
// full of streams' state) goes to malloc. Without a slot (pool exhausted) all go to malloc and
// the session never hibernates.
//
// The object is all a hibernated HTTP/2 connection keeps outside its image, so it is two
// pointers: the slot and the image (DownstreamConnection holds it where an HTTP/1.1 connection
// holds its exchange). The allocator's bookkeeping (bump offset, frame buffer, heap) is the
// slot's first block (SlotState), hibernated with the slot (and equal to the template's in
// most sessions: it costs the image nothing); the pool is passed in by the caller (the
// worker's). nghttp2's copy of the allocator points at that block, not at this object.
class H2SessionMemory {
 public:
  H2SessionMemory() = default;
  // Awake (or without a slot): gives the slot back to its pool.
  ~H2SessionMemory();
  H2SessionMemory(const H2SessionMemory&) = delete;
  H2SessionMemory& operator=(const H2SessionMemory&) = delete;

  // The allocator to create the session with (nghttp2 copies it); allocations go to the slot
  // (one of `pool`'s; the heap without a pool or when it has none left) until endCapture().
  nghttp2_mem beginCapture(H2SlotPool* pool);
  // A block for the owner's own state, kept and hibernated with the session: in the slot as the
  // session's allocations are (malloc's without a slot). Free it with releaseBlock, awake.
  void* allocateBlock(size_t size) { return allocate(size, state()); }
  void releaseBlock(void* block) { release(block, state()); }
  // The owner's object: the capture's first block (right after the allocator's state in the
  // slot, malloc's without a slot), found again by firstBlock() without a pointer of its own.
  // Once, first thing after beginCapture(); released by releaseFirstBlock(), awake.
  void* allocateFirstBlock(size_t size);
  void releaseFirstBlock();
  // Only once allocateFirstBlock() succeeded (hasFirstBlock()): on every HTTP/2 step, so no
  // test for null.
  void* firstBlock() const {
    const auto at = reinterpret_cast<uintptr_t>(slot_);
    return reinterpret_cast<void*>((at & kHeapTag) != 0 ? at - kHeapTag : at + kStateBytes);
  }
  bool hasFirstBlock() const { return slot_ != nullptr; }
  // From now on allocations go to the slot's heap (or malloc).
  void endCapture();

  bool hasSlot() const {
    return (reinterpret_cast<uintptr_t>(slot_) & kHeapTag) == 0 && slot_ != nullptr;
  }
  bool hibernated() const { return image_.sealed(); }
  // Keeps the slot's live bytes where they differ from the pool's template (a compact heap
  // image) and gives the pages back. Only while nghttp2 is quiescent: no stream, nothing
  // queued to send (nghttp2_session_want_write is 0), not inside a call into nghttp2. False
  // (nothing done) without a slot. `pool` is the one the slot came from.
  bool hibernate(H2SlotPool& pool);
  // Puts the bytes back where they were: every pointer into the slot is valid again.
  void wake(H2SlotPool& pool);
  // The heap bytes a hibernated session keeps of its slot.
  size_t imageBytes() const { return image_.storedBytes(); }
  // Bytes of the slot in use (bump offset); awake.
  size_t slotBytesUsed() const { return hasSlot() ? state()->used : 0; }
  // p is a block of the slot's heap (allocated after the capture); awake.
  bool inSlotHeap(const void* p) const { return hasSlot() && state()->inSlotHeap(p); }

 private:
  // The allocator's state, the slot's first block (nghttp2's allocator points here).
  struct SlotState {
    H2SlotPool* pool;
    uint32_t slot_bytes;
    uint32_t used;
    // The frame buffer (aob.framebufs' chunk, the one realloc(NULL) of session_new): between
    // frames its contents are dead (nghttp2 writes a frame completely before sending it), so a
    // hibernation does not keep them. Offsets into the slot, multiples of the bump alignment
    // (the end is the bump's rounded end); equal when none.
    uint32_t dead_begin;
    uint32_t dead_end;
    // Where the slot's heap's state begins (the bump offset at endCapture); kNoHeap before, or
    // when it did not fit.
    uint32_t heap_begin;
    bool capturing;

    char* slot() { return reinterpret_cast<char*>(this); }
    const char* slot() const { return reinterpret_cast<const char*>(this); }
    bool inSlot(const void* pointer) const {
      const auto at = reinterpret_cast<uintptr_t>(pointer);
      const auto begin = reinterpret_cast<uintptr_t>(slot());
      return at - begin < slot_bytes;  // unsigned: below the slot wraps to a large value
    }
    bool inSlotHeap(const void* p) const {
      return inSlot(p) && heap_begin != kNoHeap &&
             core::SlotHeap(const_cast<char*>(slot()), heap_begin, slot_bytes,
                            const_cast<uint32_t&>(used))
                 .owns(p);
    }
    core::SlotHeap heap() { return core::SlotHeap(slot(), heap_begin, slot_bytes, used); }
    void* bump(size_t size);
    // After the capture, in the slot's heap or else malloc's.
    void* allocateAfterCapture(size_t size);
    // The slot's ranges that hold live bytes between frames (all but the frame buffer).
    template <typename Visit>
    void forEachLiveRange(Visit visit) const {
      if (dead_begin != dead_end) {
        visit(size_t{0}, size_t{dead_begin});
        visit(size_t{dead_end}, size_t{used});
      } else {
        visit(size_t{0}, size_t{used});
      }
    }
  };
  static constexpr uint32_t kNoHeap = UINT32_MAX;
  // The state's block, rounded as the bump rounds.
  static constexpr size_t kStateBytes = (sizeof(SlotState) + alignof(std::max_align_t) - 1) /
                                        alignof(std::max_align_t) * alignof(std::max_align_t);

  // nghttp2's callbacks: `self` is the slot's state, or nullptr without a slot (malloc's).
  static void* allocate(size_t size, void* self);
  static void release(void* pointer, void* self);
  static void* allocateZeroed(size_t count, size_t size, void* self);
  static void* reallocate(void* pointer, size_t size, void* self);

  SlotState* state() const { return hasSlot() ? reinterpret_cast<SlotState*>(slot_) : nullptr; }

  // Bit 0 of slot_ set: no slot, slot_ is the first block on the heap (malloc aligns to 16).
  static constexpr uintptr_t kHeapTag = 1;
  char* slot_ = nullptr;
  // A hibernated slot's bytes (empty while awake): its live ranges, then their difference from
  // the template.
  core::ZeroRunImage image_;
};

}  // namespace sy::proxy
