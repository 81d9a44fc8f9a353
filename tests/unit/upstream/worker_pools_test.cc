// WorkerPools: one worker's view of the pools across snapshots. What a rebuild keeps (a pool's
// balancer while its description is the same object; a backend's state while its definition
// stays) and what it lets go (pools that left; backends that left, once their requests end).

#include "upstream/worker_pools.h"

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/upstream/test_pool.h"

namespace sy::upstream {
namespace {

using testing::makePool;

// Pools as the snapshot builder makes them: stable ids, stats objects.
std::shared_ptr<PoolSnapshot> pool(uint64_t id, const std::vector<std::string>& addresses) {
  std::vector<testing::BackendSpec> specs;
  for (const std::string& address : addresses) specs.push_back({address});
  auto made = makePool(specs);
  made->id = id;
  made->name = "pool" + std::to_string(id);
  made->stats = std::make_shared<PoolStats>(1);
  for (size_t i = 0; i < made->backends.size(); ++i) {
    auto info = std::make_shared<BackendInfo>(*made->backends[i].info);
    // Stable per (pool, address), as the builder's ids: "10.0.0.7:80" in pool 1 is 1007.
    const std::string& address = addresses[i];
    const size_t dot = address.rfind('.');
    info->id = id * 1000 + std::stoul(address.substr(dot + 1, address.find(':') - dot - 1));
    info->pool = made->name;
    info->stats = std::make_shared<BackendStats>(1);
    made->backends[i].info = std::move(info);
  }
  return made;
}

// The same pool with the same backend definitions, as a new object (another snapshot).
std::shared_ptr<PoolSnapshot> copyOf(const std::shared_ptr<PoolSnapshot>& original) {
  return std::make_shared<PoolSnapshot>(*original);
}

class WorkerPoolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_EQ(timeouts_.init(&loop_), 0);
  }
  void TearDown() override {
    pools_.clear();
    timeouts_.close();
    uv_run(&loop_, UV_RUN_NOWAIT);  // the timer's close callback
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  uv_loop_t loop_{};
  core::TimeoutQueue timeouts_;
  uint64_t seeds_ = 0;
  WorkerPools pools_{&loop_, timeouts_, 0, [this] { return ++seeds_; }};
};

TEST_F(WorkerPoolsTest, PoolsAreFoundByIndexAndById) {
  auto a = pool(1, {"10.0.0.1:80", "10.0.0.2:80"});
  auto b = pool(2, {"10.0.0.3:80"});
  pools_.rebuild({a, b});
  ASSERT_EQ(pools_.size(), 2u);
  EXPECT_EQ(&pools_.at(0)->snapshot(), a.get());
  EXPECT_EQ(&pools_.at(1)->snapshot(), b.get());
  EXPECT_EQ(pools_.byId(2), pools_.at(1));
  EXPECT_EQ(pools_.byId(3), nullptr);
  EXPECT_EQ(pools_.at(0)->backend(1)->info().address_text, "10.0.0.2:80");

  pools_.rebuild({b});  // pool 1 left: a retry that carries its id finds nothing
  EXPECT_EQ(pools_.byId(1), nullptr);
  EXPECT_EQ(pools_.at(0), pools_.byId(2));
}

TEST_F(WorkerPoolsTest, AnUnchangedPoolKeepsItsBalancerPosition) {
  auto a = pool(1, {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"});
  pools_.rebuild({a});
  WorkerPool* before = pools_.at(0);
  const int first = before->balancer().pick({});
  ASSERT_GE(first, 0);

  pools_.rebuild({a});  // another snapshot, same pool object (a switch elsewhere)
  EXPECT_EQ(pools_.at(0), before) << "the same WorkerPool, so round robin goes on";
  const int second = pools_.at(0)->balancer().pick({});
  ASSERT_GE(second, 0);
  EXPECT_NE(second, first);
}

TEST_F(WorkerPoolsTest, AChangedPoolKeepsTheStateOfItsUnchangedBackends) {
  auto a = pool(1, {"10.0.0.1:80", "10.0.0.2:80"});
  pools_.rebuild({a});
  WorkerBackend* backend = pools_.at(0)->backend(0);
  backend->requestStarted();

  auto changed = copyOf(a);  // e.g. health changed the eligible list
  changed->eligible = {0};
  pools_.rebuild({changed});
  EXPECT_EQ(&pools_.at(0)->snapshot(), changed.get());
  EXPECT_EQ(pools_.at(0)->backend(0), backend) << "connections and counts stay with the backend";
  EXPECT_EQ(pools_.at(0)->activeRequests(0), 1u);
  backend->requestFinished();
}

TEST_F(WorkerPoolsTest, ABackendThatLeftIsFreedWhenItsLastRequestEnds) {
  auto a = pool(1, {"10.0.0.1:80", "10.0.0.2:80"});
  pools_.rebuild({a});
  WorkerBackend* leaving = pools_.at(0)->backend(1);
  leaving->requestStarted();

  auto smaller = copyOf(a);
  smaller->backends.pop_back();
  smaller->eligible = {0};
  pools_.rebuild({smaller});
  EXPECT_EQ(pools_.retiredBackends(), 1u) << "a request still runs on it";
  leaving->requestFinished();
  EXPECT_EQ(pools_.retiredBackends(), 0u) << "freed once unused";

  // A backend with nothing running goes at once.
  pools_.rebuild({pool(1, {"10.0.0.9:80"})});
  EXPECT_EQ(pools_.retiredBackends(), 0u);
  EXPECT_EQ(pools_.at(0)->backend(0)->info().address_text, "10.0.0.9:80");
}

TEST_F(WorkerPoolsTest, EachNewBalancerGetsItsOwnSeed) {
  pools_.rebuild({pool(1, {"10.0.0.1:80"}), pool(2, {"10.0.0.2:80"})});
  EXPECT_EQ(seeds_, 2u);
  pools_.rebuild({pool(1, {"10.0.0.1:80"}), pool(2, {"10.0.0.2:80"})});  // new objects
  EXPECT_EQ(seeds_, 4u);
}

}  // namespace
}  // namespace sy::upstream
