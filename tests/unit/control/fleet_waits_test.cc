// FleetWaits (?wait=all in fleet mode): a wait is answered by check() once every instance
// reports the revision, or by its own one-shot timer at the deadline with the laggards, and the
// loop does not wake up in between (no polling).

#include "proxy/control/fleet_waits.h"

#include <uv.h>

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sy::proxy::control {
namespace {

class FleetWaitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    waits_.start(&loop_);
  }

  void TearDown() override {
    waits_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the timer's close
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // waitingFor(revision) given a 200 reply; the answer lands in answer_.
  void waitFor(int64_t revision, absl::Duration timeout) {
    waits_.waitingFor(revision, timeout, [this](admin::Reply reply) {
      answer_ = std::move(reply);
    })(admin::jsonReply(200, {{"route", "web"}}));
  }

  uv_loop_t loop_{};
  // Instance "self" (this one) and "other"; applied revisions as the registrations say.
  std::map<std::string, nlohmann::json> instances_ = {{"self", {{"applied_revision", 7}}},
                                                      {"other", {{"applied_revision", 3}}}};
  int64_t self_applied_ = 7;
  FleetWaits waits_{[this] { return FleetWaits::Fleet{&instances_, "self", self_applied_}; }};
  std::optional<admin::Reply> answer_;
  uv_check_t turn_counter_{};
};

TEST_F(FleetWaitsTest, AnsweredByTheCheckAfterTheLastInstanceReportsTheRevision) {
  waitFor(7, absl::Seconds(60));
  EXPECT_FALSE(answer_.has_value()) << answer_->body.dump();
  instances_["other"]["applied_revision"] = 8;
  waits_.check();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 200) << answer_->body.dump();
  EXPECT_EQ(answer_->body["route"], "web");
  EXPECT_EQ(answer_->body["fleet_wait"]["applied"], nlohmann::json({"other", "self"}));
  EXPECT_TRUE(answer_->body["fleet_wait"]["laggards"].empty());
}

TEST_F(FleetWaitsTest, ThisInstancesOwnApplyCountsFromItsRevisionNotItsRegistration) {
  instances_["other"]["applied_revision"] = 9;
  self_applied_ = 8;
  waitFor(9, absl::Seconds(60));
  EXPECT_FALSE(answer_.has_value());
  self_applied_ = 9;  // applied here; the registration saying so is still on its way
  waits_.check();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 200) << answer_->body.dump();
}

TEST_F(FleetWaitsTest, AtTheDeadlineA504ListsTheLaggardsAndTheLoopSleptUntilThen) {
  // Counts the loop's turns without keeping it alive: uv_run returns once the wait's timer is
  // done, that is once the wait is answered.
  int turns = 0;
  ASSERT_EQ(uv_check_init(&loop_, &turn_counter_), 0);
  turn_counter_.data = &turns;
  uv_check_start(&turn_counter_, [](uv_check_t* check) { ++*static_cast<int*>(check->data); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_counter_));

  waitFor(7, absl::Milliseconds(500));
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 504) << answer_->body.dump();
  ASSERT_EQ(answer_->body["laggards"].size(), 1u) << answer_->body.dump();
  EXPECT_EQ(answer_->body["laggards"][0]["id"], "other");
  EXPECT_EQ(answer_->body["laggards"][0]["applied_revision"], 3);
  EXPECT_EQ(answer_->body["fleet_wait"]["applied"], nlohmann::json({"self"}));
  EXPECT_NE(answer_->body.value("error", "").find("other"), std::string::npos);
  // One timer at the deadline (and a re-arm or two if the loop's clock lagged); polling every
  // 50 ms would have turned it about ten times.
  EXPECT_LE(turns, 4) << "the loop woke " << turns << " times for one wait of 500 ms";

  uv_close(reinterpret_cast<uv_handle_t*>(&turn_counter_), nullptr);  // TearDown's run ends it
}

}  // namespace
}  // namespace sy::proxy::control
