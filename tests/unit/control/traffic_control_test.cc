#include "proxy/control/traffic_control.h"

#include <optional>

#include "control_test_util.h"
#include "gtest/gtest.h"

namespace sy::proxy::control {
namespace {

class TrafficControlTest : public ControlTest {
 protected:
  void SetUp() override {
    ControlTest::SetUp();
    traffic_.start(&loop_);
  }
  void closeHandles() override { traffic_.close(); }

  // Runs the loop until `reply` is set.
  const admin::Reply& await(const std::optional<admin::Reply>& reply) {
    EXPECT_TRUE(runUntil([&] { return reply.has_value(); }));
    static const admin::Reply kNone = admin::errorReply(0, "no reply");
    return reply.has_value() ? *reply : kNone;
  }

  TrafficControl traffic_{state_, publisher_};
};

TEST_F(TrafficControlTest, SwitchAnswersOnceEveryWorkerRoutesByIt) {
  load(2);
  startWorkers(2);
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "green", false, {}, keep(&reply));
  const admin::Reply& answer = await(reply);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["route"], "web");
  EXPECT_EQ(answer.body["previous"], "blue");
  EXPECT_EQ(answer.body["active"], "green");
  EXPECT_EQ(answer.body["changed"], true);
  const uint64_t generation = answer.body["generation"].get<uint64_t>();
  EXPECT_EQ(generation, state_.snapshot->generation);
  for (size_t i = 0; i < workers_.size(); ++i) EXPECT_EQ(workerGeneration(i), generation);
  EXPECT_EQ(state_.traffic.find("web")->active, "green");
}

TEST_F(TrafficControlTest, SwitchToTheActivePoolPublishesNothing) {
  load(1);
  startWorkers(1);
  const uint64_t before = state_.snapshot->generation;
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "blue", false, {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());  // answered at once
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body["changed"], false);
  EXPECT_EQ(reply->body["generation"], before);
  EXPECT_EQ(state_.snapshot->generation, before);
}

TEST_F(TrafficControlTest, RefusalsCarryTheirStatus) {
  load(1);
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "nope", false, {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404) << reply->body.dump();
  reply.reset();
  traffic_.switchPool("nope", "green", false, {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404) << reply->body.dump();
  reply.reset();
  traffic_.rollback("web", {}, keep(&reply));  // nothing to roll back to
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 409) << reply->body.dump();
}

TEST_F(TrafficControlTest, RollbackReturnsToThePreviousPool) {
  load(1);
  startWorkers(1);
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "green", false, {}, keep(&reply));
  ASSERT_EQ(await(reply).status, 200);
  reply.reset();
  traffic_.rollback("web", {}, keep(&reply));
  const admin::Reply& answer = await(reply);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["active"], "blue");
  EXPECT_EQ(answer.body["previous"], "green");
  EXPECT_EQ(workerGeneration(0), answer.body["generation"].get<uint64_t>());
}

TEST_F(TrafficControlTest, CanaryThenPromote) {
  load(1);
  startWorkers(1);
  std::optional<admin::Reply> reply;
  traffic_.setCanary("web", "green", 10, {}, keep(&reply));
  const admin::Reply& canary = await(reply);
  ASSERT_EQ(canary.status, 200) << canary.body.dump();
  EXPECT_EQ(canary.body["canary_pool"], "green");
  EXPECT_EQ(canary.body["canary_weight"], 10);
  reply.reset();
  traffic_.promote("web", {}, keep(&reply));
  const admin::Reply& promoted = await(reply);
  ASSERT_EQ(promoted.status, 200) << promoted.body.dump();
  EXPECT_EQ(promoted.body["active"], "green");
  EXPECT_EQ(state_.traffic.find("web")->canary_pool, "");
}

TEST_F(TrafficControlTest, MirrorStartsAndStops) {
  load(1);
  startWorkers(1);
  std::optional<admin::Reply> reply;
  traffic_.setMirror("web", "green", 50, {}, keep(&reply));
  const admin::Reply& started = await(reply);
  ASSERT_EQ(started.status, 200) << started.body.dump();
  EXPECT_EQ(started.body["mirror_pool"], "green");
  reply.reset();
  traffic_.setMirror("web", "", 0, {}, keep(&reply));
  const admin::Reply& stopped = await(reply);
  ASSERT_EQ(stopped.status, 200) << stopped.body.dump();
  EXPECT_EQ(stopped.body["mirror_percent"], 0);
}

TEST_F(TrafficControlTest, ShuttingDownRefusesEveryVerb) {
  load(1);
  state_.shutting_down = true;
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "green", true, {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 503);
  reply.reset();
  traffic_.setCanary("web", "green", 5, {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 503);
}

TEST_F(TrafficControlTest, AWorkerThatCannotBeReachedFailsTheSwitchLoudly) {
  load(2);
  startWorkers(1);
  addDeadWorker();
  std::optional<admin::Reply> reply;
  traffic_.switchPool("web", "green", false, {}, keep(&reply));
  // At once, not after the client's timeout.
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 500) << reply->body.dump();
  EXPECT_EQ(reply->body["code"], "worker_post_failed");
}

}  // namespace
}  // namespace sy::proxy::control
