// ThreadRecycler: blocks come back from the calling thread's free list, the list is bounded,
// and each thread has its own.

#include "core/thread_recycler.h"

#include <memory>
#include <thread>
#include <vector>

#include "core/address_sanitizer.h"
#include "gtest/gtest.h"

namespace sy::core {
namespace {

struct Payload {
  explicit Payload(int v) : value(v) {}
  int value;
  char bytes[200] = {};
};

using Recycler = ThreadRecycler<Payload, 4>;

Payload* make(int value) { return new (Recycler::allocate()) Payload(value); }
void destroy(Payload* payload) { RecycledDelete<Payload, 4>()(payload); }

TEST(ThreadRecyclerTest, ReusesTheLastReleasedBlockAndKeepsAtMostTheLimit) {
  std::vector<Payload*> payloads;
  for (int i = 0; i < 6; ++i) payloads.push_back(make(i));
  for (Payload* payload : payloads) destroy(payload);
#if SY_ADDRESS_SANITIZER
  EXPECT_EQ(Recycler::cachedOnThisThread(), 0u);  // nothing is cached under ASan
#else
  EXPECT_EQ(Recycler::cachedOnThisThread(), 4u);
  Payload* again = make(7);
  EXPECT_EQ(again, payloads[3]);  // the last block kept comes back first
  EXPECT_EQ(again->value, 7);
  EXPECT_EQ(Recycler::cachedOnThisThread(), 3u);
  destroy(again);
#endif
}

TEST(ThreadRecyclerTest, EachThreadHasItsOwnList) {
  destroy(make(1));
  const size_t here = Recycler::cachedOnThisThread();
  size_t there = 99;
  std::thread other([&there] { there = Recycler::cachedOnThisThread(); });
  other.join();
  EXPECT_EQ(there, 0u);
  EXPECT_EQ(Recycler::cachedOnThisThread(), here);
}

}  // namespace
}  // namespace sy::core
