#include "health/outlier_detector.h"

#include "absl/time/clock.h"

namespace sy::health {

OutlierDetector::OutlierDetector(uv_loop_t* loop, BackendStateTable& table, Callback on_change)
    : table_(table), on_change_(std::move(on_change)) {
  timer_.init(loop, uv_timer_init);
  timer_.get()->data = this;
}

OutlierDetector::~OutlierDetector() { stop(); }

void OutlierDetector::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.reset();
}

absl::Duration OutlierDetector::ejectionTime(
    uint32_t ejections, const routing::config::OutlierDetectionConfig& config) {
  absl::Duration time = config.base_ejection_time;
  for (uint32_t i = 1; i < ejections && time < config.max_ejection_time; ++i) time *= 2;
  return std::min(time, config.max_ejection_time);
}

void OutlierDetector::reportFailures(std::string_view pool, std::string_view address,
                                     const routing::config::OutlierDetectionConfig& config) {
  if (stopped_ || config.consecutive_failures == 0) return;
  BackendRecord* record = table_.find(pool, address);
  if (record == nullptr || record->ejected) return;
  const absl::Time now = absl::Now();
  // A backend that behaved for a whole max_ejection_time starts its doubling over.
  if (now - record->returned_at > config.max_ejection_time) record->ejections = 0;
  std::vector<BackendRecord*> members = table_.poolBackends(pool);
  size_t ejected = 0;
  for (const BackendRecord* member : members) ejected += member->ejected ? 1 : 0;
  if ((ejected + 1) * 100 > static_cast<size_t>(config.max_ejection_percent) * members.size()) {
    on_change_(*record, Event::kSkipped, absl::ZeroDuration());
    return;
  }
  ++record->ejections;
  const absl::Duration duration = ejectionTime(record->ejections, config);
  record->ejected = true;
  record->ejected_until = now + duration;
  table_.touch(pool);
  on_change_(*record, Event::kEjected, duration);
  rearm();
}

void OutlierDetector::rearm() {
  if (stopped_) return;
  absl::Time earliest = absl::InfiniteFuture();
  table_.forEach([&](const BackendRecord& record) {
    if (record.ejected && record.ejected_until < earliest) earliest = record.ejected_until;
  });
  if (earliest == absl::InfiniteFuture()) {
    uv_timer_stop(timer_.get());
    return;
  }
  const int64_t delay_ms =
      std::max<int64_t>(0, absl::ToInt64Milliseconds(earliest - absl::Now()) + 1);
  uv_timer_start(timer_.get(), &OutlierDetector::onTimer, static_cast<uint64_t>(delay_ms), 0);
}

void OutlierDetector::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<OutlierDetector*>(timer->data);
  const absl::Time now = absl::Now();
  std::vector<BackendRecord*> returning;
  self->table_.forEach([&](BackendRecord& record) {
    if (record.ejected && record.ejected_until <= now) returning.push_back(&record);
  });
  for (BackendRecord* record : returning) {
    record->ejected = false;
    record->returned_at = now;
    self->table_.touch(record->pool);
    self->on_change_(*record, Event::kReturned, absl::ZeroDuration());
  }
  self->rearm();
}

}  // namespace sy::health
