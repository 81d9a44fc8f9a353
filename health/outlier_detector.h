#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "core/uv_handle.h"
#include "health/backend_state_table.h"
#include "routing/config/model.h"

namespace sy::health {

// Passive health: when a worker reports that a backend failed `consecutive_failures` live
// requests in a row (connect failures, timeouts, resets, 5xx), the backend is ejected for
// base_ejection_time, doubled at each ejection in a row up to max_ejection_time, then returns.
// At most max_ejection_percent of a pool is ejected at any time. Control thread only.
class OutlierDetector {
 public:
  enum class Event { kEjected, kReturned, kSkipped };
  using Callback = std::function<void(const BackendRecord&, Event, absl::Duration ejection)>;

  OutlierDetector(uv_loop_t* loop, BackendStateTable& table, Callback on_change);
  ~OutlierDetector();
  OutlierDetector(const OutlierDetector&) = delete;
  OutlierDetector& operator=(const OutlierDetector&) = delete;

  void reportFailures(std::string_view pool, std::string_view address,
                      const routing::config::OutlierDetectionConfig& config);
  void stop();

  // The ejection time for the n-th ejection in a row (exposed for tests).
  static absl::Duration ejectionTime(uint32_t ejections,
                                     const routing::config::OutlierDetectionConfig& config);

 private:
  void rearm();
  static void onTimer(uv_timer_t* timer);

  BackendStateTable& table_;
  Callback on_change_;
  core::UvHandle<uv_timer_t> timer_;
  bool stopped_ = false;
};

}  // namespace sy::health
