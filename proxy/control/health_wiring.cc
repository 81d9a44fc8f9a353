#include "proxy/control/health_wiring.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"

namespace sy::proxy::control {

void logHealthTransition(const health::BackendRecord& backend, routing::HealthState from,
                         routing::HealthState to, const std::string& reason) {
  core::logInfo("health_transition", {{"pool", backend.pool},
                                      {"backend", backend.address},
                                      {"from", routing::healthStateName(from)},
                                      {"to", routing::healthStateName(to)},
                                      {"reason", reason}});
}

HealthWiring::HealthWiring(ControlState& state, Republish republish)
    : state_(state), republish_(std::move(republish)) {}

void HealthWiring::start(uv_loop_t* loop) {
  SY_DCHECK_ON_CONTROL_THREAD();
  loop_ = loop;
  health::HealthChecker::Callbacks callbacks;
  callbacks.on_transition = [this](const health::HealthChecker::Transition& t) {
    logHealthTransition(*t.backend, t.from, t.to, t.reason);
    republish_("health");
  };
  callbacks.on_result = [this](const health::BackendRecord& record,
                               const health::ProbeResult& result) {
    state_.metrics.healthChecked(record.pool, record.address, result.passed,
                                 static_cast<double>(result.duration_ns) / 1e9);
  };
  checker_ =
      std::make_unique<health::HealthChecker>(loop, state_.backend_states, std::move(callbacks));
  checker_->configure(*state_.config, poolTls());
  outliers_ = std::make_unique<health::OutlierDetector>(
      loop, state_.backend_states,
      [this](const health::BackendRecord& record, health::OutlierDetector::Event event,
             absl::Duration ejection) { onOutlierEvent(record, event, ejection); });
}

void HealthWiring::onOutlierEvent(const health::BackendRecord& record,
                                  health::OutlierDetector::Event event, absl::Duration ejection) {
  switch (event) {
    case health::OutlierDetector::Event::kEjected:
      state_.metrics.ejected(record.pool, record.address);
      core::logWarn("backend_ejected", {{"pool", record.pool},
                                        {"backend", record.address},
                                        {"for_ms", absl::ToInt64Milliseconds(ejection)},
                                        {"ejections", record.ejections}});
      republish_("ejection");
      break;
    case health::OutlierDetector::Event::kReturned:
      core::logInfo("backend_returned", {{"pool", record.pool}, {"backend", record.address}});
      republish_("ejection ended");
      break;
    case health::OutlierDetector::Event::kSkipped:
      if (std::optional<uint64_t> suppressed = ejection_skipped_log_.admit(
              absl::StrCat(record.pool, "/", record.address), uv_now(loop_))) {
        core::logWarn("backend_ejection_skipped",
                      {{"pool", record.pool},
                       {"backend", record.address},
                       {"reason", "max_ejection_percent of the pool is already ejected"},
                       {"suppressed_since_last", *suppressed}});
      }
      break;
  }
}

void HealthWiring::configure(const routing::config::Config& config) {
  if (checker_ != nullptr) checker_->configure(config, poolTls());
}

health::HealthChecker::PoolTls HealthWiring::poolTls() const {
  return [this](const std::string& pool) { return state_.builder.poolTls(pool); };
}

void HealthWiring::checkNow(const std::string& pool, const std::string& address) {
  if (checker_ != nullptr) checker_->checkNow(pool, address);
}

void HealthWiring::reportFailures(const std::string& pool, const std::string& address) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (const routing::config::PoolConfig* config = state_.config->findPool(pool)) {
    if (outliers_ != nullptr) outliers_->reportFailures(pool, address, config->outlier_detection);
  }
}

void HealthWiring::stop() {
  if (checker_ != nullptr) checker_->stop();
  if (outliers_ != nullptr) outliers_->stop();
}

}  // namespace sy::proxy::control
