#include "proxy/control/publisher.h"

#include <atomic>
#include <optional>

#include "control_test_util.h"
#include "gtest/gtest.h"
#include "proxy/control/status_reply.h"

namespace sy::proxy::control {
namespace {

class PublisherTest : public ControlTest {};

TEST_F(PublisherTest, DoneRunsOnceEveryWorkerAdoptedTheSnapshot) {
  load(3);
  startWorkers(3);
  state_.rebuildSnapshot();
  const uint64_t generation = state_.snapshot->generation;
  std::optional<absl::Status> result;
  int calls = 0;
  publisher_.publish(state_.snapshot, [&](const absl::Status& status) {
    result = status;
    ++calls;
  });
  ASSERT_TRUE(runUntil([&] { return result.has_value(); }));
  EXPECT_TRUE(result->ok()) << *result;
  EXPECT_EQ(calls, 1);
  for (size_t i = 0; i < workers_.size(); ++i) EXPECT_EQ(workerGeneration(i), generation);
  EXPECT_EQ(publisher_.failedPosts(), 0u);
}

TEST_F(PublisherTest, RunOnAllRunsTheTaskOnEveryWorkerThread) {
  load(2);
  startWorkers(2);
  std::atomic<int> ran{0};
  std::atomic<bool> all_on_workers{true};
  std::optional<absl::Status> result;
  publisher_.runOnAll(
      "count",
      [&](Worker& worker) {
        if (core::threadRole() != core::ThreadRole::kWorker ||
            core::threadWorkerIndex() != worker.index()) {
          all_on_workers = false;
        }
        ++ran;
      },
      [&](const absl::Status& status) { result = status; });
  ASSERT_TRUE(runUntil([&] { return result.has_value(); }));
  EXPECT_TRUE(result->ok());
  EXPECT_EQ(ran.load(), 2);
  EXPECT_TRUE(all_on_workers.load());
}

TEST_F(PublisherTest, WithoutWorkersDoneRunsAtOnce) {
  load(1);
  std::optional<absl::Status> result;
  publisher_.publish(state_.snapshot, [&](const absl::Status& status) { result = status; });
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok());
}

TEST_F(PublisherTest, AFailedPostFailsTheCallAtOnceAndOnlyOnce) {
  load(2);
  startWorkers(1);
  addDeadWorker();
  std::optional<absl::Status> result;
  int calls = 0;
  publisher_.publish(state_.snapshot, [&](const absl::Status& status) {
    result = status;
    ++calls;
  });
  // Before publish() returned: nobody waits for an ack that cannot come.
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kInternal);
  EXPECT_NE(result->message().find("worker(s) 1"), std::string_view::npos) << *result;
  EXPECT_EQ(publisher_.failedPosts(), 1u);

  // The live worker's ack still arrives (before this marker, which it queues after): it must
  // not call `done` a second time.
  bool marker = false;
  Worker* live = workers_[0].get();
  ASSERT_TRUE(live->post([this, &marker] { dispatcher_.post([&marker] { marker = true; }); }));
  ASSERT_TRUE(runUntil([&] { return marker; }));
  EXPECT_EQ(calls, 1);
}

TEST_F(PublisherTest, AFailedPostAnswersTheAdminCall500WithItsCode) {
  load(1);
  addDeadWorker();
  std::optional<absl::Status> result;
  publisher_.publish(state_.snapshot, [&](const absl::Status& status) { result = status; });
  ASSERT_TRUE(result.has_value());
  const admin::Reply reply = publishFailureReply(*result);
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body["code"], "worker_post_failed");
  EXPECT_NE(reply.body["error"].get<std::string>().find("did not reach worker(s) 0"),
            std::string::npos)
      << reply.body.dump();
}

TEST_F(PublisherTest, WhileStoppingAFailedPostMeansShuttingDown) {
  load(1);
  addDeadWorker();
  publisher_.setStopping();
  std::optional<absl::Status> result;
  publisher_.runOnAll(
      "noop", [](Worker&) {}, [&](const absl::Status& status) { result = status; });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(publishFailureReply(*result).status, 503);
}

TEST_F(PublisherTest, WithoutDoneAFailedPostIsOnlyCounted) {
  load(1);
  addDeadWorker();
  addDeadWorker();
  publisher_.runOnAll("noop", [](Worker&) {});
  EXPECT_EQ(publisher_.failedPosts(), 2u);
}

}  // namespace
}  // namespace sy::proxy::control
