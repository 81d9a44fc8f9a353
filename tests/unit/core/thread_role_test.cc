#include "core/thread_role.h"

#include <thread>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

TEST(ThreadRoleTest, AThreadHasNoRoleUntilItMarksItself) {
  ThreadRole seen = ThreadRole::kControl;
  std::thread([&] { seen = threadRole(); }).join();
  EXPECT_EQ(seen, ThreadRole::kNone);
}

TEST(ThreadRoleTest, TheRoleBelongsToTheThread) {
  ScopedThreadRole control(ThreadRole::kControl);
  ThreadRole other = ThreadRole::kNone;
  uint32_t index = 0;
  std::thread([&] {
    setThreadRole(ThreadRole::kWorker, 3);
    other = threadRole();
    index = threadWorkerIndex();
  }).join();
  EXPECT_EQ(threadRole(), ThreadRole::kControl);
  EXPECT_EQ(other, ThreadRole::kWorker);
  EXPECT_EQ(index, 3u);
}

TEST(ThreadRoleTest, ScopedRoleRestoresThePreviousOne) {
  {
    ScopedThreadRole worker(ThreadRole::kWorker, 1);
    EXPECT_EQ(threadRole(), ThreadRole::kWorker);
    EXPECT_EQ(threadWorkerIndex(), 1u);
  }
  EXPECT_EQ(threadRole(), ThreadRole::kNone);
  EXPECT_STREQ(threadRoleName(ThreadRole::kControl), "control");
}

TEST(AssertDeathTest, CheckNamesTheFileLineAndMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(SY_CHECK(1 + 1 == 3, "arithmetic broke"),
               "thread_role_test.cc:[0-9]+: check failed: 1 \\+ 1 == 3 \\(arithmetic broke\\)");
}

#ifndef NDEBUG
TEST(AssertDeathTest, DebugCheckOfTheThreadRoleFiresOnTheWrongThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedThreadRole worker(ThreadRole::kWorker);
  EXPECT_DEATH(SY_DCHECK_ON_CONTROL_THREAD(), "must run on the control thread");
}
#else
TEST(AssertDeathTest, DebugChecksAreCompiledOutInRelease) {
  ScopedThreadRole worker(ThreadRole::kWorker);
  SY_DCHECK_ON_CONTROL_THREAD();  // no abort
  SUCCEED();
}
#endif

}  // namespace
}  // namespace sy::core
