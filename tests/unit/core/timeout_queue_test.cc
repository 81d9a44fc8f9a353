#include "core/timeout_queue.h"

#include <uv.h>

#include <vector>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

uint64_t fakeNow(void* context) { return *static_cast<uint64_t*>(context); }

class Recorded : public TimeoutEntry {
 public:
  Recorded(std::vector<int>* log, int id) : log_(log), id_(id) {}
  void onTimeout() override { log_->push_back(id_); }

 private:
  std::vector<int>* log_;
  int id_;
};

class TimeoutQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_EQ(queue_.init(&loop_), 0);
    queue_.setClockForTest(&fakeNow, &now_);
  }
  void TearDown() override {
    queue_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);  // every handle closed
  }
  uv_loop_t loop_{};
  TimeoutQueue queue_;
  uint64_t now_ = 1000;
  std::vector<int> fired_;
};

TEST_F(TimeoutQueueTest, FiresInDeadlineOrderAcrossDurations) {
  Recorded a(&fired_, 1), b(&fired_, 2), c(&fired_, 3);
  queue_.schedule(&a, 300);
  queue_.schedule(&b, 100);
  now_ += 50;
  queue_.schedule(&c, 100);  // due at 1150
  queue_.expire(1099);
  EXPECT_TRUE(fired_.empty());
  queue_.expire(1100);
  EXPECT_EQ(fired_, std::vector<int>({2}));
  queue_.expire(1400);
  EXPECT_EQ(fired_, std::vector<int>({2, 3, 1}));
  EXPECT_FALSE(a.scheduled());
}

TEST_F(TimeoutQueueTest, RescheduleMovesTheDeadline) {
  Recorded a(&fired_, 1);
  queue_.schedule(&a, 100);
  now_ = 1090;
  queue_.schedule(&a, 100);  // activity: now due at 1190
  queue_.expire(1150);
  EXPECT_TRUE(fired_.empty());
  queue_.expire(1190);
  EXPECT_EQ(fired_, std::vector<int>({1}));
}

TEST_F(TimeoutQueueTest, CancelAndMoveBetweenDurations) {
  Recorded a(&fired_, 1), b(&fired_, 2);
  queue_.schedule(&a, 100);
  queue_.schedule(&b, 100);
  queue_.cancel(&a);
  queue_.schedule(&b, 500);  // moves to another list
  queue_.expire(1200);
  EXPECT_TRUE(fired_.empty());
  queue_.expire(1500);
  EXPECT_EQ(fired_, std::vector<int>({2}));
}

TEST_F(TimeoutQueueTest, RestartsWithinOneTickAndLaterKeepTheOrder) {
  // The same entry restarted several times on one clock reading (as an exchange does) stays
  // where it is; restarted later, it moves behind the others of its list.
  Recorded a(&fired_, 1), b(&fired_, 2), c(&fired_, 3);
  queue_.schedule(&a, 100);
  queue_.schedule(&b, 100);
  queue_.schedule(&a, 100);  // same tick: still before b, both due at 1100
  now_ = 1010;
  queue_.schedule(&c, 100);  // due at 1110
  queue_.schedule(&a, 100);  // due at 1110, behind c
  queue_.schedule(&a, 100);
  queue_.expire(1100);
  EXPECT_EQ(fired_, std::vector<int>({2}));
  queue_.expire(1110);
  EXPECT_EQ(fired_, std::vector<int>({2, 3, 1}));
  // Back and forth between two durations in one tick ends on the last one asked for.
  now_ = 2000;
  queue_.schedule(&a, 100);
  queue_.schedule(&a, 50);
  queue_.schedule(&a, 100);
  queue_.expire(2050);
  EXPECT_EQ(fired_, std::vector<int>({2, 3, 1}));
  queue_.expire(2100);
  EXPECT_EQ(fired_, std::vector<int>({2, 3, 1, 1}));
}

TEST(TimeoutQueueRealLoopTest, TheLoopTimerFiresEntries) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  TimeoutQueue queue;
  ASSERT_EQ(queue.init(&loop), 0);
  std::vector<int> fired;
  Recorded a(&fired, 1), b(&fired, 2);
  queue.schedule(&a, 20);
  queue.schedule(&b, 5);
  // The loop ends once nothing is pending: the queue stops its timer when it is empty.
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, std::vector<int>({2, 1}));
  queue.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace sy::core
