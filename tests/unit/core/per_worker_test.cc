#include "core/per_worker.h"

#include "core/local_counter.h"
#include "gtest/gtest.h"

namespace sy::core {
namespace {

struct alignas(kCacheLineSize) Figures {
  LocalCounter requests;
};

TEST(PerWorkerTest, EachWorkerWritesItsOwnSlotAndSumsAddThemUp) {
  PerWorker<Figures> figures(3);
  ASSERT_EQ(figures.size(), 3u);
  figures.slot(0).requests.add();
  figures.slot(2).requests.add();
  figures.slot(2).requests.add();
  EXPECT_EQ(figures.slot(0).requests.get(), 1u);
  EXPECT_EQ(figures.slot(1).requests.get(), 0u);
  EXPECT_EQ(figures.sum(&Figures::requests), 3u);
}

TEST(PerWorkerTest, SlotsDoNotShareACacheLine) {
  PerWorker<Figures> figures(2);
  const auto first = reinterpret_cast<uintptr_t>(&figures.slot(0));
  const auto second = reinterpret_cast<uintptr_t>(&figures.slot(1));
  EXPECT_EQ(first % kCacheLineSize, 0u);
  EXPECT_GE(second - first, kCacheLineSize);
}

TEST(PerWorkerTest, NoWorkersStillHasOneSlot) {
  PerWorker<Figures> figures(0);
  EXPECT_EQ(figures.size(), 1u);
  figures.slot(0).requests.add();
  EXPECT_EQ(figures.sum(&Figures::requests), 1u);
}

TEST(PerWorkerDeathTest, AnIndexPastTheSlotsAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  PerWorker<Figures> figures(2);
  // It used to write slot 0 quietly, mixing two workers' figures in one line.
  EXPECT_DEATH(figures.slot(2).requests.add(), "worker index past the per-worker slots");
}

}  // namespace
}  // namespace sy::core
