#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "core/strings.h"
#include "core/timeout_queue.h"
#include "health/backend_state_table.h"
#include "health/probe.h"
#include "routing/config/model.h"

namespace sy::health {

// Runs the active health checks of every pool that has one, on the control loop: one session
// per backend, each with its own timer (interval plus up to `jitter`), never overlapping
// itself. Results go through the rise/fall hysteresis into the BackendStateTable; a change of
// state is reported to `on_transition`, which republishes the snapshot. Control thread only.
class HealthChecker {
 public:
  struct Transition {
    const BackendRecord* backend;
    routing::HealthState from;
    routing::HealthState to;
    std::string reason;  // the failing check's error, or "passed"
  };
  struct Callbacks {
    std::function<void(const Transition&)> on_transition;
    // Every check result, for metrics.
    std::function<void(const BackendRecord&, const ProbeResult&)> on_result;
  };

  HealthChecker(uv_loop_t* loop, BackendStateTable& table, Callbacks callbacks);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // The TLS context of a pool (null: plain), for pools with `tls`.
  using PoolTls = std::function<std::shared_ptr<const tls::ClientContext>(const std::string&)>;

  // (Re)starts checking for `config`: sessions of backends that stay keep their schedule; new
  // ones check at once; removed ones stop. HTTP checks of a pool for which `pool_tls` gives a
  // context speak TLS with it (taken afresh on every call: a reload re-reads certificates).
  // Call after table.reconcile(config).
  void configure(const routing::config::Config& config, const PoolTls& pool_tls = nullptr);
  // Checks the backend now (dropping a check in flight), then on its usual schedule.
  void checkNow(const std::string& pool, const std::string& address);
  // Stops every check; no callback runs afterwards.
  void stop();

 private:
  struct Session;
  void schedule(Session& session, bool first);
  void runCheck(Session& session);
  static void onTimer(uv_timer_t* timer);

  uv_loop_t* loop_;
  BackendStateTable& table_;
  Callbacks callbacks_;
  core::TimeoutQueue timeouts_;
  core::StringMap<std::unique_ptr<Session>> sessions_;
  std::minstd_rand random_;
  bool stopped_ = false;
};

}  // namespace sy::health
