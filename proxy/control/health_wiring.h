#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "core/log_throttle.h"
#include "health/backend_state_table.h"
#include "health/health_checker.h"
#include "health/outlier_detector.h"
#include "proxy/control/control_state.h"
#include "routing/backend_state.h"

namespace sy::proxy::control {

// One line per health state change, whoever made it (a check, or the end of a maintenance).
void logHealthTransition(const health::BackendRecord& backend, routing::HealthState from,
                         routing::HealthState to, const std::string& reason);

// Connects the active health checker and the outlier detector to the control thread: their
// verdicts change the backend states, are logged and counted, and are published to the
// workers through `republish` (a rebuilt snapshot). Control thread only.
class HealthWiring {
 public:
  using Republish = std::function<void(const char* reason)>;

  HealthWiring(ControlState& state, Republish republish);
  HealthWiring(const HealthWiring&) = delete;
  HealthWiring& operator=(const HealthWiring&) = delete;

  // Starts checking the pools of the current configuration.
  void start(uv_loop_t* loop);
  // A reload: checks follow the new configuration.
  void configure(const routing::config::Config& config);
  // Checks one backend now (back from maintenance) instead of at its next interval.
  void checkNow(const std::string& pool, const std::string& address);
  // A worker saw `outlier_consecutive_failures` failed requests in a row on this backend.
  void reportFailures(const std::string& pool, const std::string& address);
  void stop();

 private:
  // Looks up a pool's TLS context in the snapshot builder (loaded with the configuration).
  health::HealthChecker::PoolTls poolTls() const;
  void onOutlierEvent(const health::BackendRecord& record, health::OutlierDetector::Event event,
                      absl::Duration ejection);

  ControlState& state_;
  Republish republish_;
  uv_loop_t* loop_ = nullptr;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<health::OutlierDetector> outliers_;
  // backend_ejection_skipped repeats with every failed request of a pool at its ejection cap.
  core::LogThrottle ejection_skipped_log_;
};

}  // namespace sy::proxy::control
