// H2SlotPool and H2SessionMemory (proxy/h2_session_memory.h): an nghttp2 server session made in
// a slot keeps working across hibernations (HPACK dynamic table included: a repeated field is
// sent as an index into it), and a pool out of slots falls back to the heap.

#include "proxy/h2_session_memory.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/proxy/nghttp2_field.h"

namespace sy::proxy {
namespace {

TEST(H2SlotPoolTest, SlotsAreZeroedPageMultiplesAndComeBackZeroed) {
  H2SlotPool pool(3);
  EXPECT_GE(pool.slotBytes(), H2SlotPool::kMinSlotBytes);
  char* first = pool.acquire();
  char* second = pool.acquire();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_EQ(pool.slotsInUse(), 2u);
  for (size_t i = 0; i < pool.slotBytes(); ++i) ASSERT_EQ(first[i], 0) << i;
  std::memset(first, 0x5a, pool.slotBytes());
  pool.release(first);
  char* again = pool.acquire();
  EXPECT_EQ(again, first);  // the free list's last
  for (size_t i = 0; i < pool.slotBytes(); ++i) ASSERT_EQ(again[i], 0) << i;
  EXPECT_NE(pool.acquire(), nullptr);
  EXPECT_EQ(pool.acquire(), nullptr);  // max_slots reached
  EXPECT_EQ(pool.slotsInUse(), 3u);
  pool.release(again);
  EXPECT_NE(pool.acquire(), nullptr);
}

TEST(H2SlotPoolTest, MoreSlotsThanOneRegionAreDistinctAndPageAligned) {
  H2SlotPool pool;
  std::vector<char*> slots;
  for (size_t i = 0; i < H2SlotPool::kSlotsPerRegion + 10; ++i) {
    char* slot = pool.acquire();
    ASSERT_NE(slot, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(slot) % 4096, 0u);
    slot[0] = 1;  // each is writable
    slots.push_back(slot);
  }
  std::sort(slots.begin(), slots.end());
  for (size_t i = 1; i < slots.size(); ++i) {
    EXPECT_GE(static_cast<size_t>(slots[i] - slots[i - 1]), pool.slotBytes());
  }
  for (char* slot : slots) pool.release(slot);
  EXPECT_EQ(pool.slotsInUse(), 0u);
}

TEST(H2SessionMemoryTest, CapturedAllocationsStayInTheSlotAndMoveOutOnRealloc) {
  H2SlotPool pool(1);
  H2SessionMemory memory;
  nghttp2_mem allocator = memory.beginCapture(&pool);
  nghttp2_mem* mem = &allocator;
  auto* captured = static_cast<char*>(mem->malloc(100, mem->mem_user_data));
  auto* zeroed = static_cast<char*>(mem->calloc(10, 10, mem->mem_user_data));
  ASSERT_NE(captured, nullptr);
  ASSERT_NE(zeroed, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(zeroed[i], 0);
  EXPECT_GE(memory.slotBytesUsed(), 200u);
  EXPECT_FALSE(memory.inSlotHeap(captured));
  memory.endCapture();
  std::memcpy(captured, "slot bytes", 11);
  mem->free(zeroed, mem->mem_user_data);  // a no-op: the slot goes back whole
  // realloc of a capture's allocation moves it (into the slot's heap) with its bytes.
  auto* moved = static_cast<char*>(mem->realloc(captured, 400, mem->mem_user_data));
  ASSERT_NE(moved, nullptr);
  EXPECT_TRUE(memory.inSlotHeap(moved));
  EXPECT_STREQ(moved, "slot bytes");
  // Larger than the heap's blocks: to the heap, bytes with it.
  auto* large = static_cast<char*>(mem->realloc(moved, 4000, mem->mem_user_data));
  ASSERT_NE(large, nullptr);
  EXPECT_FALSE(memory.inSlotHeap(large));
  EXPECT_STREQ(large, "slot bytes");
  mem->free(large, mem->mem_user_data);
}

TEST(H2SessionMemoryTest, AfterTheCaptureSmallBlocksGoToTheSlotsHeapUntilItIsFull) {
  H2SlotPool pool(1);
  H2SessionMemory memory;
  nghttp2_mem allocator = memory.beginCapture(&pool);
  nghttp2_mem* mem = &allocator;
  ASSERT_NE(mem->malloc(20000, mem->mem_user_data), nullptr);  // a session's worth
  memory.endCapture();
  auto* first = static_cast<char*>(mem->malloc(80, mem->mem_user_data));
  ASSERT_TRUE(memory.inSlotHeap(first));
  std::memcpy(first, "entry", 6);
  // realloc within its size class stays; beyond it moves within the heap, bytes with it.
  EXPECT_EQ(mem->realloc(first, 70, mem->mem_user_data), first);
  auto* grown = static_cast<char*>(mem->realloc(first, 300, mem->mem_user_data));
  EXPECT_TRUE(memory.inSlotHeap(grown));
  EXPECT_STREQ(grown, "entry");
  // calloc from a reused block is zeroed.
  std::memset(grown, 0x5a, 300);
  mem->free(grown, mem->mem_user_data);
  auto* zeroed = static_cast<char*>(mem->calloc(3, 100, mem->mem_user_data));
  EXPECT_EQ(zeroed, grown);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(zeroed[i], 0) << i;
  EXPECT_EQ(mem->calloc(SIZE_MAX / 2, 4, mem->mem_user_data), nullptr);  // overflow
  // Until the slot is full, then malloc; every block is freed through the same allocator.
  std::vector<void*> in_slot;
  std::vector<void*> on_heap;
  for (int i = 0; i < 200; ++i) {
    void* p = mem->malloc(500, mem->mem_user_data);
    ASSERT_NE(p, nullptr);
    (memory.inSlotHeap(p) ? in_slot : on_heap).push_back(p);
  }
  EXPECT_GT(in_slot.size(), 5u);
  EXPECT_GT(on_heap.size(), 100u);
  EXPECT_LE(memory.slotBytesUsed(), pool.slotBytes());
  for (void* p : on_heap) mem->free(p, mem->mem_user_data);
  for (void* p : in_slot) mem->free(p, mem->mem_user_data);
  // Freed slot blocks serve again.
  void* again = mem->malloc(500, mem->mem_user_data);
  EXPECT_TRUE(memory.inSlotHeap(again));
  mem->free(again, mem->mem_user_data);
  mem->free(zeroed, mem->mem_user_data);
}

// A server session and an nghttp2 client talking through memory: the client sends GETs with a
// repeated custom field, the server answers each with 200 and the field's value.
struct H2MemoryTestPeers {
  explicit H2MemoryTestPeers(H2SlotPool* slot_pool) : pool(slot_pool) {
    nghttp2_session_callbacks* callbacks = nullptr;
    EXPECT_EQ(nghttp2_session_callbacks_new(&callbacks), 0);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrame);
    nghttp2_mem allocator = memory.beginCapture(pool);
    EXPECT_EQ(nghttp2_session_server_new3(&server, callbacks, this, nullptr, &allocator), 0);
    memory.endCapture();
    EXPECT_EQ(nghttp2_session_client_new(&client, callbacks, this), 0);
    nghttp2_session_callbacks_del(callbacks);
    EXPECT_EQ(nghttp2_submit_settings(server, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
    EXPECT_EQ(nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
    pump();
  }
  ~H2MemoryTestPeers() {
    wake();
    nghttp2_session_del(server);
    nghttp2_session_del(client);
  }

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length,
                      uint8_t /*flags*/, void* self) {
    auto* peers = static_cast<H2MemoryTestPeers*>(self);
    const std::string field(reinterpret_cast<const char*>(name), name_length);
    if (field != "x-tenant") return 0;
    const std::string text(reinterpret_cast<const char*>(value), value_length);
    if (session == peers->server) {
      peers->request_values[frame->hd.stream_id] = text;
    } else {
      peers->answers.push_back(text);
    }
    return 0;
  }

  static int onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
    auto* peers = static_cast<H2MemoryTestPeers*>(self);
    if (session != peers->server || frame->hd.type != NGHTTP2_HEADERS ||
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
      return 0;
    }
    const std::string& value = peers->request_values[frame->hd.stream_id];
    const nghttp2_nv fields[] = {
        nghttp2Field(":status", "200"),
        nghttp2Field("x-tenant", value),
    };
    return nghttp2_submit_response(session, frame->hd.stream_id, fields, 2, nullptr);
  }

  // Moves bytes both ways until neither side has anything to send.
  void pump() {
    for (bool moved = true; moved;) {
      moved = transfer(client, server) | transfer(server, client);
    }
  }
  static bool transfer(nghttp2_session* from, nghttp2_session* to) {
    bool moved = false;
    const uint8_t* data = nullptr;
    for (ssize_t length; (length = nghttp2_session_mem_send(from, &data)) > 0;) {
      EXPECT_EQ(nghttp2_session_mem_recv(to, data, static_cast<size_t>(length)), length);
      moved = true;
    }
    return moved;
  }

  void get(const std::string& tenant) {
    const nghttp2_nv fields[] = {
        nghttp2Field(":method", "GET"),   nghttp2Field(":scheme", "http"),
        nghttp2Field(":path", "/"),       nghttp2Field(":authority", "example"),
        nghttp2Field("x-tenant", tenant),
    };
    ASSERT_GT(nghttp2_submit_request(client, nullptr, fields, 5, nullptr, nullptr), 0);
    wake();  // what the connection's owner does before any call into the server
    pump();
  }
  bool hibernate() { return pool != nullptr && memory.hibernate(*pool); }
  void wake() {
    if (pool != nullptr) memory.wake(*pool);
  }

  H2SlotPool* pool;
  H2SessionMemory memory;
  nghttp2_session* server = nullptr;
  nghttp2_session* client = nullptr;
  std::map<int32_t, std::string> request_values;
  std::vector<std::string> answers;
};

TEST(H2SessionMemoryTest, ASessionInASlotWorksAcrossHibernations) {
  H2SlotPool pool(4);
  H2MemoryTestPeers peers(&pool);
  ASSERT_TRUE(peers.memory.hasSlot());
  // session_new's allocations went into the slot (nghttp2 1.52: 25,466 bytes).
  EXPECT_GT(peers.memory.slotBytesUsed(), 16384u);
  EXPECT_LE(peers.memory.slotBytesUsed(), pool.slotBytes());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(nghttp2_session_want_write(peers.server), 0);
    ASSERT_TRUE(peers.hibernate());
    EXPECT_TRUE(peers.memory.hibernated());
    // The image is the live part only: not the frame buffer, not the zeros.
    EXPECT_LT(peers.memory.imageBytes(), 6000u) << i;
    // The same value each time: from the second request on, HPACK sends it as an index into
    // the dynamic tables that hibernated.
    peers.get("tenant-" + std::string(40, 'a'));
    EXPECT_FALSE(peers.memory.hibernated());
  }
  peers.get("other");
  std::vector<std::string> expected(5, "tenant-" + std::string(40, 'a'));
  expected.push_back("other");
  EXPECT_EQ(peers.answers, expected);
}

// The pool's template is the first slot that hibernated; another session keeps only where it
// differs from it (its own pointers into its own slot are not differences), and both go on
// working across hibernations, HPACK tables included.
TEST(H2SessionMemoryTest, ASessionKeepsOnlyItsDifferenceFromThePoolsTemplate) {
  H2SlotPool pool(4);
  H2MemoryTestPeers first(&pool);
  H2MemoryTestPeers second(&pool);
  first.get("first");
  second.get("second");
  ASSERT_TRUE(first.hibernate());
  const size_t template_image = first.memory.imageBytes();
  ASSERT_TRUE(second.hibernate());
  const size_t second_image = second.memory.imageBytes();
  std::printf("images: template %zu bytes, second session %zu bytes\n", template_image,
              second_image);
  EXPECT_LT(template_image, 64u);  // its own template: nothing differs
  EXPECT_LT(second_image, 700u);   // 1.0-1.3 KB without a template
  const std::string value = "tenant-" + std::string(40, 'c');
  for (int i = 0; i < 3; ++i) {
    first.get(value);
    second.get(value);
    ASSERT_TRUE(first.hibernate());
    ASSERT_TRUE(second.hibernate());
  }
  first.get("last");
  second.get("last");
  EXPECT_EQ(first.answers, std::vector<std::string>({"first", value, value, value, "last"}));
  EXPECT_EQ(second.answers, std::vector<std::string>({"second", value, value, value, "last"}));
}

// Streams in flight at once fill the slot's heap (their state goes to malloc past it), many
// different values churn both HPACK tables (entries added and evicted, in the slot and out of
// it), and the session goes on working across hibernations with more streams after each wake.
TEST(H2SessionMemoryTest, ManyStreamsAndHpackChurnAcrossHibernations) {
  H2SlotPool pool(4);
  H2MemoryTestPeers peers(&pool);
  std::vector<std::string> expected;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string tenant = "t" + std::to_string(round) + "-" + std::to_string(i % 25) +
                                 std::string(static_cast<size_t>(i) * 3, 'x');
      const nghttp2_nv fields[] = {
          nghttp2Field(":method", "GET"),   nghttp2Field(":scheme", "http"),
          nghttp2Field(":path", "/"),       nghttp2Field(":authority", "example"),
          nghttp2Field("x-tenant", tenant),
      };
      ASSERT_GT(nghttp2_submit_request(peers.client, nullptr, fields, 5, nullptr, nullptr), 0);
      expected.push_back(tenant);
    }
    peers.wake();
    peers.pump();
    ASSERT_EQ(nghttp2_session_want_write(peers.server), 0);
    ASSERT_TRUE(peers.hibernate());
    EXPECT_LE(peers.memory.slotBytesUsed(), pool.slotBytes());
    peers.get("after-" + std::to_string(round));
    expected.push_back("after-" + std::to_string(round));
    ASSERT_TRUE(peers.hibernate());
  }
  peers.get("last");
  expected.push_back("last");
  std::vector<std::string> answers = peers.answers;
  // Streams answered concurrently may come back in any order: compare as sets of values.
  std::sort(answers.begin(), answers.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(answers, expected);
}

TEST(H2SessionMemoryTest, WithoutASlotTheSessionLivesOnTheHeapAndNeverHibernates) {
  H2SlotPool pool(1);
  H2MemoryTestPeers first(&pool);
  H2MemoryTestPeers second(&pool);  // the pool is out of slots
  EXPECT_TRUE(first.memory.hasSlot());
  EXPECT_FALSE(second.memory.hasSlot());
  EXPECT_FALSE(second.hibernate());
  EXPECT_EQ(second.memory.slotBytesUsed(), 0u);
  second.get("x");
  second.get("x");
  EXPECT_EQ(second.answers, std::vector<std::string>({"x", "x"}));
  H2MemoryTestPeers no_pool(nullptr);
  EXPECT_FALSE(no_pool.memory.hasSlot());
  no_pool.get("y");
  EXPECT_EQ(no_pool.answers, std::vector<std::string>({"y"}));
}

}  // namespace
}  // namespace sy::proxy
