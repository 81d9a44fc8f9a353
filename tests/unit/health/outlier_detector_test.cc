// OutlierDetector: passive ejection on a real libuv loop (its return timer is real), the growing
// ejection time and the max_ejection_percent limit.

#include "health/outlier_detector.h"

#include <uv.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "health/backend_state_table.h"
#include "routing/config/toml_loader.h"

namespace sy::health {
namespace {

using routing::config::OutlierDetectionConfig;
using Event = OutlierDetector::Event;

OutlierDetectionConfig odConfig(absl::Duration base, absl::Duration max, uint32_t percent = 50,
                                uint32_t failures = 5) {
  OutlierDetectionConfig config;
  config.consecutive_failures = failures;
  config.base_ejection_time = base;
  config.max_ejection_time = max;
  config.max_ejection_percent = percent;
  return config;
}

TEST(OutlierEjectionTimeTest, DoublesFromTheBaseUpToTheCap) {
  const OutlierDetectionConfig config = odConfig(absl::Seconds(1), absl::Seconds(10));
  EXPECT_EQ(OutlierDetector::ejectionTime(1, config), absl::Seconds(1));
  EXPECT_EQ(OutlierDetector::ejectionTime(2, config), absl::Seconds(2));
  EXPECT_EQ(OutlierDetector::ejectionTime(3, config), absl::Seconds(4));
  EXPECT_EQ(OutlierDetector::ejectionTime(4, config), absl::Seconds(8));
  EXPECT_EQ(OutlierDetector::ejectionTime(5, config), absl::Seconds(10));  // 16 capped
  EXPECT_EQ(OutlierDetector::ejectionTime(6, config), absl::Seconds(10));
  EXPECT_EQ(OutlierDetector::ejectionTime(1000000, config), absl::Seconds(10));
  EXPECT_EQ(OutlierDetector::ejectionTime(UINT32_MAX, config), absl::Seconds(10));
}

TEST(OutlierEjectionTimeTest, ZeroEjectionsMeansTheBaseAndEqualBaseAndMaxNeverGrow) {
  EXPECT_EQ(OutlierDetector::ejectionTime(0, odConfig(absl::Seconds(3), absl::Seconds(30))),
            absl::Seconds(3));
  const OutlierDetectionConfig flat = odConfig(absl::Seconds(5), absl::Seconds(5));
  for (uint32_t n : {1u, 2u, 3u, 50u})
    EXPECT_EQ(OutlierDetector::ejectionTime(n, flat), absl::Seconds(5));
}

TEST(OutlierEjectionTimeTest, ACapBetweenTwoDoublingsIsReachedExactly) {
  const OutlierDetectionConfig config = odConfig(absl::Seconds(3), absl::Seconds(10));
  EXPECT_EQ(OutlierDetector::ejectionTime(2, config), absl::Seconds(6));
  EXPECT_EQ(OutlierDetector::ejectionTime(3, config), absl::Seconds(10));
  // The largest values the loader accepts do not overflow.
  const OutlierDetectionConfig extreme = odConfig(absl::Milliseconds(1), absl::Hours(24));
  EXPECT_EQ(OutlierDetector::ejectionTime(UINT32_MAX, extreme), absl::Hours(24));
  EXPECT_EQ(OutlierDetector::ejectionTime(11, extreme), absl::Milliseconds(1024));
}

// A pool "p" with `count` backends 127.0.0.1:9001.. and a libuv loop for the detector.
class OutlierDetectorTest : public ::testing::Test {
 protected:
  struct Seen {
    std::string address;
    Event event;
    absl::Duration ejection;
  };

  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }

  void TearDown() override {
    detector_.reset();  // closes its timer
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  void makePool(int count) {
    std::string text =
        "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n[[routes]]\nname = \"r\"\npool = \"p\"\n"
        "[[pools]]\nname = \"p\"\nbackends = [";
    for (int i = 0; i < count; ++i) {
      text += (i > 0 ? ", " : "") + std::string("\"") + address(i) + "\"";
    }
    text += "]\n[[pools]]\nname = \"other\"\nbackends = [\"127.0.0.1:9100\"]\n";
    routing::config::LoadResult result = routing::config::parseConfigText(text, "test.toml");
    ASSERT_TRUE(result.ok()) << routing::config::formatErrors(result.errors);
    table_.reconcile(*result.config);
    detector_ = std::make_unique<OutlierDetector>(
        &loop_, table_, [this](const BackendRecord& record, Event event, absl::Duration ejection) {
          seen_.push_back({record.address, event, ejection});
        });
  }

  static std::string address(int i) { return "127.0.0.1:" + std::to_string(9001 + i); }

  // Runs the loop until `count` events were seen or `timeout` passed.
  bool runUntilEvents(size_t count, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    // Wakes the loop every 5 ms so that the deadline is checked even with nothing pending.
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 5, 5);
    while (seen_.size() < count && absl::Now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return seen_.size() >= count;
  }

  uv_loop_t loop_{};
  BackendStateTable table_;
  std::unique_ptr<OutlierDetector> detector_;
  std::vector<Seen> seen_;
};

TEST_F(OutlierDetectorTest, EjectsForTheBaseTimeThenReturns) {
  ASSERT_NO_FATAL_FAILURE(makePool(2));
  const OutlierDetectionConfig config = odConfig(absl::Milliseconds(80), absl::Seconds(10));
  const uint64_t version = table_.poolVersion("p");
  const absl::Time before = absl::Now();
  detector_->reportFailures("p", address(0), config);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].event, Event::kEjected);
  EXPECT_EQ(seen_[0].address, address(0));
  EXPECT_EQ(seen_[0].ejection, absl::Milliseconds(80));
  const BackendRecord* record = table_.find("p", address(0));
  EXPECT_TRUE(record->ejected);
  EXPECT_EQ(record->ejections, 1u);
  EXPECT_GE(record->ejected_until, before + absl::Milliseconds(80));
  EXPECT_NE(table_.poolVersion("p"), version);
  EXPECT_TRUE(table_.stateOf("p", address(0)).ejected);

  // Reports while ejected change nothing.
  detector_->reportFailures("p", address(0), config);
  EXPECT_EQ(seen_.size(), 1u);

  ASSERT_TRUE(runUntilEvents(2, absl::Seconds(5)));
  const absl::Duration took = absl::Now() - before;
  EXPECT_EQ(seen_[1].event, Event::kReturned);
  EXPECT_EQ(seen_[1].address, address(0));
  EXPECT_GE(took, absl::Milliseconds(80));
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_FALSE(record->ejected);
  EXPECT_NE(record->returned_at, absl::InfinitePast());
  EXPECT_FALSE(table_.stateOf("p", address(0)).ejected);
}

TEST_F(OutlierDetectorTest, EjectionsInARowDoubleAndAQuietMaxEjectionTimeStartsOver) {
  ASSERT_NO_FATAL_FAILURE(makePool(2));
  const OutlierDetectionConfig config = odConfig(absl::Milliseconds(20), absl::Milliseconds(150));
  detector_->reportFailures("p", address(0), config);
  ASSERT_TRUE(runUntilEvents(2, absl::Seconds(5)));
  detector_->reportFailures("p", address(0), config);  // right after it came back
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[2].event, Event::kEjected);
  EXPECT_EQ(seen_[2].ejection, absl::Milliseconds(40));
  ASSERT_TRUE(runUntilEvents(4, absl::Seconds(5)));
  detector_->reportFailures("p", address(0), config);
  ASSERT_EQ(seen_.size(), 5u);
  EXPECT_EQ(seen_[4].ejection, absl::Milliseconds(80));
  ASSERT_TRUE(runUntilEvents(6, absl::Seconds(5)));
  detector_->reportFailures("p", address(0), config);
  ASSERT_EQ(seen_.size(), 7u);
  EXPECT_EQ(seen_[6].ejection, absl::Milliseconds(150));  // 160 capped
  ASSERT_TRUE(runUntilEvents(8, absl::Seconds(5)));

  // Behaving for longer than max_ejection_time forgets the history.
  const absl::Time returned = table_.find("p", address(0))->returned_at;
  while (absl::Now() - returned <= absl::Milliseconds(160)) absl::SleepFor(absl::Milliseconds(5));
  detector_->reportFailures("p", address(0), config);
  ASSERT_EQ(seen_.size(), 9u);
  EXPECT_EQ(seen_[8].event, Event::kEjected);
  EXPECT_EQ(seen_[8].ejection, absl::Milliseconds(20));
  EXPECT_EQ(table_.find("p", address(0))->ejections, 1u);
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentRefusesTheEjectionThatWouldGoBeyondIt) {
  ASSERT_NO_FATAL_FAILURE(makePool(4));
  const OutlierDetectionConfig config = odConfig(absl::Seconds(30), absl::Seconds(60), 50);
  detector_->reportFailures("p", address(0), config);
  detector_->reportFailures("p", address(1), config);  // 2 of 4 = 50 %: allowed
  detector_->reportFailures("p", address(2), config);  // 3 of 4 = 75 %: refused
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].event, Event::kEjected);
  EXPECT_EQ(seen_[1].event, Event::kEjected);
  EXPECT_EQ(seen_[2].event, Event::kSkipped);
  EXPECT_EQ(seen_[2].address, address(2));
  EXPECT_FALSE(table_.find("p", address(2))->ejected);
  EXPECT_EQ(table_.find("p", address(2))->ejections, 0u);
  // Another pool is counted on its own.
  detector_->reportFailures("other", "127.0.0.1:9100",
                            odConfig(absl::Seconds(30), absl::Seconds(60), 100));
  ASSERT_EQ(seen_.size(), 4u);
  EXPECT_EQ(seen_[3].event, Event::kEjected);
}

TEST_F(OutlierDetectorTest, TwoBackendsAtFiftyPercentAllowOneEjection) {
  ASSERT_NO_FATAL_FAILURE(makePool(2));
  const OutlierDetectionConfig config = odConfig(absl::Seconds(30), absl::Seconds(60), 50);
  detector_->reportFailures("p", address(1), config);
  detector_->reportFailures("p", address(0), config);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].event, Event::kEjected);
  EXPECT_EQ(seen_[1].event, Event::kSkipped);
}

TEST_F(OutlierDetectorTest, ALoneBackendIsOnlyEjectedAtOneHundredPercent) {
  ASSERT_NO_FATAL_FAILURE(makePool(1));
  detector_->reportFailures("p", address(0), odConfig(absl::Seconds(1), absl::Seconds(2), 99));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].event, Event::kSkipped);
  detector_->reportFailures("p", address(0), odConfig(absl::Seconds(1), absl::Seconds(2), 100));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1].event, Event::kEjected);
}

TEST_F(OutlierDetectorTest, ZeroPercentNeverEjects) {
  ASSERT_NO_FATAL_FAILURE(makePool(4));
  detector_->reportFailures("p", address(0), odConfig(absl::Seconds(1), absl::Seconds(2), 0));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].event, Event::kSkipped);
  EXPECT_FALSE(table_.find("p", address(0))->ejected);
}

TEST_F(OutlierDetectorTest, DisabledUnknownAndStoppedReportsAreIgnored) {
  ASSERT_NO_FATAL_FAILURE(makePool(2));
  OutlierDetectionConfig off = odConfig(absl::Seconds(1), absl::Seconds(2), 100, 0);
  detector_->reportFailures("p", address(0), off);
  const OutlierDetectionConfig on = odConfig(absl::Seconds(1), absl::Seconds(2), 100);
  detector_->reportFailures("p", "127.0.0.1:1", on);
  detector_->reportFailures("nope", address(0), on);
  EXPECT_TRUE(seen_.empty());
  detector_->stop();
  detector_->reportFailures("p", address(0), on);
  EXPECT_TRUE(seen_.empty());
  EXPECT_FALSE(table_.find("p", address(0))->ejected);
}

TEST_F(OutlierDetectorTest, StopCancelsPendingReturns) {
  ASSERT_NO_FATAL_FAILURE(makePool(2));
  detector_->reportFailures("p", address(0), odConfig(absl::Milliseconds(20), absl::Seconds(1)));
  ASSERT_EQ(seen_.size(), 1u);
  detector_->stop();
  EXPECT_FALSE(runUntilEvents(2, absl::Milliseconds(100)));
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(OutlierDetectorTest, SeveralEjectedBackendsReturnInTheirOwnTime) {
  ASSERT_NO_FATAL_FAILURE(makePool(4));
  detector_->reportFailures("p", address(0), odConfig(absl::Milliseconds(150), absl::Seconds(1)));
  detector_->reportFailures("p", address(1), odConfig(absl::Milliseconds(30), absl::Seconds(1)));
  // The shorter ejection ends first. (Whether backend 0 is still out at that moment depends
  // on how late a busy machine runs the loop; the order of the returns does not: libuv fires
  // due timers in the order of their deadlines.)
  ASSERT_TRUE(runUntilEvents(3, absl::Seconds(5)));
  EXPECT_EQ(seen_[2].event, Event::kReturned);
  EXPECT_EQ(seen_[2].address, address(1));
  ASSERT_TRUE(runUntilEvents(4, absl::Seconds(5)));
  EXPECT_EQ(seen_[3].event, Event::kReturned);
  EXPECT_EQ(seen_[3].address, address(0));
}

}  // namespace
}  // namespace sy::health
