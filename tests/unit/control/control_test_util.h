#pragma once

// A control loop in the test thread, real workers on their own threads (no listener sockets),
// and the ControlState of a configuration text: what the control thread's parts need to be
// driven in-process. No sleeps: runUntil() turns the loop until a condition holds, with a
// generous deadline.

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/control_plane.h"
#include "core/dispatcher.h"
#include "core/thread_role.h"
#include "gtest/gtest.h"
#include "proxy/config_source.h"
#include "proxy/control/control_state.h"
#include "proxy/control/publisher.h"
#include "proxy/worker.h"
#include "tests/support/loop_until.h"

namespace sy::proxy::control {

inline constexpr std::chrono::seconds kDeadline{20};

// Two pools of one backend each, and one route on "blue".
inline constexpr char kTwoPools[] = R"(
[[listeners]]
listen = "127.0.0.1:1"
[[pools]]
name = "blue"
backends = ["127.0.0.1:1"]
[[pools]]
name = "green"
backends = ["127.0.0.1:2", "127.0.0.1:3"]
[[routes]]
name = "web"
pool = "blue"
)";

class ControlTest : public ::testing::Test {
 protected:
  ControlTest() : state_(ConfigSource{"", "test.toml", kTwoPools}) {}

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_EQ(dispatcher_.init(&loop_), 0);
    // Wakes the loop now and then so that runUntil() sees its deadline even with no event.
    uv_timer_init(&loop_, &tick_);
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 20, 20);
  }

  void TearDown() override {
    for (auto& worker : workers_) {
      Worker* target = worker.get();
      // A dead worker refuses the post and has no thread to join.
      target->post([target] { target->stop("shutdown"); });
      target->join();
    }
    workers_.clear();
    closeHandles();
    dispatcher_.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Closes the handles a test's parts own (before the loop's last run).
  virtual void closeHandles() {}

  // Loads the configuration text into the state and builds the first snapshot.
  void load(uint32_t workers, const std::string& text = kTwoPools) {
    state_.source = ConfigSource{"", "test.toml", text};
    routing::config::LoadResult loaded = state_.source.load();
    ASSERT_TRUE(loaded.ok()) << routing::config::formatErrors(loaded.errors);
    state_.config = std::make_shared<const routing::config::Config>(std::move(*loaded.config));
    state_.worker_count = workers;
    state_.builder.setWorkerCount(workers);
    state_.traffic.reconcile(*state_.config);
    state_.backend_states.reconcile(*state_.config);
    state_.rebuildSnapshot();
  }

  // Starts `count` workers on the current snapshot.
  void startWorkers(uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      auto worker =
          std::make_unique<Worker>(static_cast<uint32_t>(workers_.size()), Worker::Hooks{});
      ASSERT_EQ(worker->start({}, state_.snapshot), 0);
      workers_.push_back(std::move(worker));
    }
  }

  // A worker whose loop never ran: every post to it fails, as to one that stopped.
  void addDeadWorker() {
    workers_.push_back(
        std::make_unique<Worker>(static_cast<uint32_t>(workers_.size()), Worker::Hooks{}));
  }

  // Turns the control loop until `done` holds or the deadline passes.
  bool runUntil(const std::function<bool()>& done) {
    return sy::testing::runLoopUntil(&loop_, done, kDeadline);
  }

  // The generation worker `index` runs, read on that worker.
  uint64_t workerGeneration(size_t index) {
    std::optional<uint64_t> generation;
    Worker* target = workers_[index].get();
    EXPECT_TRUE(target->post([this, target, &generation] {
      const uint64_t seen = target->generation();
      dispatcher_.post([&generation, seen] { generation = seen; });
    }));
    EXPECT_TRUE(runUntil([&] { return generation.has_value(); }));
    return generation.value_or(0);
  }

  // A responder that keeps the reply.
  admin::Responder keep(std::optional<admin::Reply>* reply) {
    return [reply](admin::Reply r) { *reply = std::move(r); };
  }

  core::ScopedThreadRole role_{core::ThreadRole::kControl};
  uv_loop_t loop_{};
  uv_timer_t tick_{};
  core::Dispatcher dispatcher_;
  ControlState state_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Publisher publisher_{dispatcher_, workers_};
};

}  // namespace sy::proxy::control
