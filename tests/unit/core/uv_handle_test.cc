#include "core/uv_handle.h"

#include <uv.h>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

class UvHandleTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);  // UV_EBUSY if a handle was left open
  }
  uv_loop_t loop_{};
};

TEST_F(UvHandleTest, ResetStopsTheCallbacksAndTheLoopFreesTheHandle) {
  UvHandle<uv_timer_t> timer;
  ASSERT_EQ(timer.init(&loop_, uv_timer_init), 0);
  ASSERT_TRUE(timer);
  int fired = 0;
  timer.get()->data = &fired;
  uv_timer_start(
      timer.get(), [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 0, 0);
  timer.reset();  // before the loop ran: the callback must never run
  EXPECT_FALSE(timer);
  EXPECT_EQ(timer.get(), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 0);
}

TEST_F(UvHandleTest, TheOwnerGoingOutOfScopeClosesTheHandle) {
  int fired = 0;
  {
    UvHandle<uv_timer_t> timer;
    ASSERT_EQ(timer.init(&loop_, uv_timer_init), 0);
    timer.get()->data = &fired;
    uv_timer_start(
        timer.get(), [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 0, 0);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 0);
}

TEST_F(UvHandleTest, MovingHandsTheHandleOverAndReinitClosesTheOldOne) {
  UvHandle<uv_timer_t> first;
  ASSERT_EQ(first.init(&loop_, uv_timer_init), 0);
  uv_timer_t* raw = first.get();
  UvHandle<uv_timer_t> second(std::move(first));
  EXPECT_EQ(second.get(), raw);
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): the moved-from owner is empty
  ASSERT_EQ(second.init(&loop_, uv_timer_init), 0);  // closes `raw`, owns a new timer
  EXPECT_NE(second.get(), nullptr);
  UvHandle<uv_tcp_t> tcp;
  ASSERT_EQ(tcp.init(&loop_, uv_tcp_init_ex, AF_INET), 0);
  second = UvHandle<uv_timer_t>();  // move-assigning an empty owner closes the timer
  EXPECT_FALSE(second);
}

TEST_F(UvHandleTest, AFailedInitKeepsNothing) {
  UvHandle<uv_tcp_t> tcp;
  EXPECT_NE(tcp.init(&loop_, uv_tcp_init_ex, 12345u), 0);  // not an address family
  EXPECT_FALSE(tcp);
}

}  // namespace
}  // namespace sy::core
