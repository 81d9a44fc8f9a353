#include "proxy/control/backend_admin.h"

#include <optional>
#include <utility>
#include <vector>

#include "control_test_util.h"
#include "gtest/gtest.h"

namespace sy::proxy::control {
namespace {

class BackendAdminTest : public ControlTest {
 protected:
  void SetUp() override {
    ControlTest::SetUp();
    backends_.start(&loop_);
  }
  void closeHandles() override { backends_.close(); }

  const health::BackendRecord& record(const std::string& pool, const std::string& address) {
    const health::BackendRecord* found = state_.backend_states.find(pool, address);
    EXPECT_NE(found, nullptr);
    return *found;
  }

  // The shared in-flight gauge of a backend, as worker 0 writes it.
  core::LocalCounter& inFlight(const std::string& pool, const std::string& address) {
    const upstream::PoolSnapshot& snapshot =
        *state_.snapshot->pools[static_cast<size_t>(state_.snapshot->poolIndex(pool))];
    for (const auto& entry : snapshot.backends) {
      if (entry.info->address_text == address) {
        return entry.info->stats->slot(0).active_requests;
      }
    }
    ADD_FAILURE() << "no backend " << address;
    static core::LocalCounter none;
    return none;
  }

  std::vector<std::pair<std::string, std::string>> rechecks_;
  BackendAdmin backends_{state_, publisher_,
                         [this](const std::string& pool, const std::string& address) {
                           rechecks_.emplace_back(pool, address);
                         }};
};

TEST_F(BackendAdminTest, DrainIsPublishedAndAnsweredWithTheBackends) {
  load(2);
  startWorkers(2);
  const uint64_t before = state_.snapshot->generation;
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "127.0.0.1:2", routing::AdminState::kDraining,
                            absl::ZeroDuration(), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  ASSERT_EQ(reply->status, 200) << reply->body.dump();
  EXPECT_EQ(reply->body["pool"], "green");
  ASSERT_EQ(reply->body["backends"].size(), 1u);
  // Nothing in flight: the drain already ended.
  EXPECT_EQ(reply->body["backends"][0]["admin_state"], "drained");
  const uint64_t generation = reply->body["generation"].get<uint64_t>();
  EXPECT_GT(generation, before);
  for (size_t i = 0; i < workers_.size(); ++i) EXPECT_EQ(workerGeneration(i), generation);
  EXPECT_EQ(record("green", "127.0.0.1:2").admin, routing::AdminState::kDraining);
  EXPECT_EQ(record("green", "127.0.0.1:3").admin, routing::AdminState::kReady);
}

TEST_F(BackendAdminTest, AWholePoolAtOnce) {
  load(1);
  startWorkers(1);
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "", routing::AdminState::kDisabled, absl::ZeroDuration(), {},
                            keep(&reply));
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  ASSERT_EQ(reply->status, 200) << reply->body.dump();
  EXPECT_EQ(reply->body["backends"].size(), 2u);
  EXPECT_EQ(record("green", "127.0.0.1:2").admin, routing::AdminState::kDisabled);
  EXPECT_EQ(record("green", "127.0.0.1:3").admin, routing::AdminState::kDisabled);
}

TEST_F(BackendAdminTest, UnknownPoolOrBackendIs404) {
  load(1);
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("nope", "", routing::AdminState::kDraining, absl::ZeroDuration(), {},
                            keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404);
  reply.reset();
  backends_.setBackendAdmin("green", "127.0.0.1:9", routing::AdminState::kDraining,
                            absl::ZeroDuration(), {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404);
  EXPECT_NE(reply->body["error"].get<std::string>().find("127.0.0.1:2, 127.0.0.1:3"),
            std::string::npos)
      << reply->body.dump();
}

TEST_F(BackendAdminTest, BackFromMaintenanceIsCheckedAgain) {
  load(1);
  startWorkers(1);
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("blue", "127.0.0.1:1", routing::AdminState::kDisabled,
                            absl::ZeroDuration(), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  // As a health check would have left it before the maintenance.
  state_.backend_states.find("blue", "127.0.0.1:1")->health = routing::HealthState::kHealthy;
  reply.reset();
  backends_.setBackendAdmin("blue", "127.0.0.1:1", routing::AdminState::kReady,
                            absl::ZeroDuration(), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  ASSERT_EQ(reply->status, 200) << reply->body.dump();
  EXPECT_EQ(record("blue", "127.0.0.1:1").health, routing::HealthState::kUnknown);
  ASSERT_EQ(rechecks_.size(), 1u);
  EXPECT_EQ(rechecks_[0], std::make_pair(std::string("blue"), std::string("127.0.0.1:1")));
}

TEST_F(BackendAdminTest, AWaitEndsWhenTheLastRequestEnds) {
  load(1);
  startWorkers(1);
  core::LocalCounter& in_flight = inFlight("green", "127.0.0.1:2");
  in_flight.add();  // one request in flight on worker 0
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "127.0.0.1:2", routing::AdminState::kDraining,
                            absl::Seconds(60), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return backends_.pendingWaits() == 1; }));
  EXPECT_FALSE(reply.has_value());
  in_flight.sub();  // the request ended
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->status, 200) << reply->body.dump();
  EXPECT_EQ(reply->body["drained"], true);
  EXPECT_EQ(backends_.pendingWaits(), 0u);
}

TEST_F(BackendAdminTest, AWaitThatRunsOutIs504AndTheStateStays) {
  load(1);
  startWorkers(1);
  inFlight("green", "127.0.0.1:2").add();  // never ends
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "127.0.0.1:2", routing::AdminState::kDraining,
                            absl::Milliseconds(1), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->status, 504) << reply->body.dump();
  EXPECT_EQ(reply->body["drained"], false);
  EXPECT_EQ(record("green", "127.0.0.1:2").admin, routing::AdminState::kDraining);
}

TEST_F(BackendAdminTest, CloseAnswersThePendingWaits) {
  load(1);
  startWorkers(1);
  inFlight("green", "127.0.0.1:2").add();
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "127.0.0.1:2", routing::AdminState::kDraining,
                            absl::Seconds(60), {}, keep(&reply));
  ASSERT_TRUE(runUntil([&] { return backends_.pendingWaits() == 1; }));
  backends_.close();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 503);
}

TEST_F(BackendAdminTest, AWorkerThatCannotBeReachedFailsTheDrainLoudly) {
  load(2);
  startWorkers(1);
  addDeadWorker();
  std::optional<admin::Reply> reply;
  backends_.setBackendAdmin("green", "127.0.0.1:2", routing::AdminState::kDraining,
                            absl::Seconds(60), {}, keep(&reply));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 500) << reply->body.dump();
  EXPECT_EQ(reply->body["code"], "worker_post_failed");
  EXPECT_EQ(backends_.pendingWaits(), 0u);
}

}  // namespace
}  // namespace sy::proxy::control
