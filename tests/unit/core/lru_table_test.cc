// The bounded table behind per-client limits: it never holds more than its capacity, whatever
// keys arrive, and it forgets the least recently used key first.

#include "core/lru_table.h"

#include <string>

#include "core/ip_address.h"
#include "gtest/gtest.h"

namespace sy::core {
namespace {

TEST(LruTableTest, FindsWhatWasInserted) {
  LruTable<int, std::string> table(4);
  table.findOrInsert(1, [] { return std::string("one"); });
  ASSERT_NE(table.find(1), nullptr);
  EXPECT_EQ(*table.find(1), "one");
  EXPECT_EQ(table.find(2), nullptr);
  // An existing key keeps its value: make() is not called.
  EXPECT_EQ(table.findOrInsert(1, [] { return std::string("other"); }), "one");
  EXPECT_EQ(table.size(), 1u);
}

TEST(LruTableTest, EvictsTheLeastRecentlyUsed) {
  LruTable<int, int> table(3);
  for (int key : {1, 2, 3}) table.findOrInsert(key, [key] { return key * 10; });
  ASSERT_NE(table.find(1), nullptr);  // 1 is now the most recent; 2 the oldest
  table.findOrInsert(4, [] { return 40; });
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(2), nullptr);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_NE(table.find(3), nullptr);
  EXPECT_NE(table.find(4), nullptr);
  EXPECT_EQ(table.evictions(), 1u);
}

TEST(LruTableTest, StaysBoundedUnderAHundredThousandDistinctAddresses) {
  // A flood of distinct sources (127.x.y.z, as the integration test uses): the table keeps
  // the most recent `capacity` and never more.
  constexpr size_t kCapacity = 1000;
  LruTable<IpAddress, int> table(kCapacity);
  const uint32_t base = 0x7f000000;  // 127.0.0.0
  for (uint32_t i = 1; i <= 100000; ++i) {
    table.findOrInsert(IpAddress::fromV4(base + i), [] { return 0; });
    ASSERT_LE(table.size(), kCapacity);
  }
  EXPECT_EQ(table.size(), kCapacity);
  EXPECT_EQ(table.evictions(), 100000u - kCapacity);
  EXPECT_NE(table.find(IpAddress::fromV4(base + 100000)), nullptr);
  EXPECT_NE(table.find(IpAddress::fromV4(base + 100000 - kCapacity + 1)), nullptr);
  EXPECT_EQ(table.find(IpAddress::fromV4(base + 100000 - kCapacity)), nullptr);
}

TEST(LruTableTest, ShrinkingDropsTheOldest) {
  LruTable<int, int> table(5);
  for (int key = 1; key <= 5; ++key) table.findOrInsert(key, [] { return 0; });
  table.setCapacity(2);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_NE(table.find(5), nullptr);
  EXPECT_NE(table.find(4), nullptr);
  EXPECT_EQ(table.find(3), nullptr);
}

}  // namespace
}  // namespace sy::core
