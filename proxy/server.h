#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "health/backend_state_table.h"
#include "health/health_checker.h"
#include "health/outlier_detector.h"
#include "admin/admin_api.h"
#include "admin/admin_server.h"
#include "admin/control_plane.h"
#include "admin/metrics.h"
#include "proxy/core/dispatcher.h"
#include "proxy/core/log_throttle.h"
#include "proxy/core/loop_context.h"
#include "proxy/worker.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::proxy {

// Where the configuration comes from: a file, or the text embedded in the binary.
struct ConfigSource {
  std::string path;           // empty: use `embedded_text`
  std::string embedded_name;  // shown in messages for the embedded text
  std::string embedded_text;

  routing::config::LoadResult load() const;
  std::string name() const { return path.empty() ? embedded_name : path; }
};

// The control thread: owns the configuration and the runtime traffic state, builds snapshots
// and publishes them to every worker, serves the admin API, handles signals (SIGHUP reload,
// SIGTERM/SIGINT graceful shutdown). Never on the request path.
class Server final : public admin::ControlPlane {
 public:
  explicit Server(ConfigSource source);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until shutdown. Returns the process exit code.
  int run();

  // admin::ControlPlane (control loop).
  std::vector<std::string> routeNames() const override;
  void switchPool(const std::string& route, const std::string& pool, bool force,
                  admin::Responder respond) override;
  void rollback(const std::string& route, admin::Responder respond) override;
  void setCanary(const std::string& route, const std::string& pool, double weight,
                 admin::Responder respond) override;
  void promote(const std::string& route, admin::Responder respond) override;
  void setMirror(const std::string& route, const std::string& pool, double percent,
                 admin::Responder respond) override;
  void reload(admin::Responder respond) override;
  void setBackendAdmin(const std::string& pool, const std::string& address,
                       routing::AdminState state, absl::Duration wait,
                       admin::Responder respond) override;
  nlohmann::json status() const override;
  bool ready() const override { return !shutting_down_; }
  std::string metrics() const override;

 private:
  bool openListeners(const routing::config::Config& config, uint32_t workers,
                     std::vector<std::vector<int>>* fds_by_worker);
  // Re-reads the configuration. Returns the generation published, or the errors.
  absl::StatusOr<uint64_t> reloadConfig(const char* trigger, std::function<void(uint64_t)> done);
  // Publishes the current traffic state; `respond` gets `body` plus the generation once every
  // worker adopted it. `event` names the change in the log.
  void applyTrafficChange(const char* event, const std::string& route, nlohmann::json body,
                          admin::Responder respond);
  // Applies an admin change to the traffic state (and answers its error if it fails).
  bool changeTraffic(const absl::Status& status, const admin::Responder& respond);
  void saveState();
  // Rebuilds the snapshot from config, traffic and backend state, and publishes it.
  void republish(const char* reason);
  // Figures of one backend summed over the workers.
  struct BackendLoad {
    uint64_t in_flight = 0;
    uint64_t open_connections = 0;
  };
  BackendLoad loadOf(const std::string& pool, const std::string& address) const;
  bool drained(const health::BackendRecord& record) const;
  nlohmann::json backendJson(const health::BackendRecord& record) const;
  // Whether `pool` has a backend that may take traffic (not in panic).
  bool poolHasHealthyBackend(const std::string& pool) const;
  void startHealth();
  void scheduleSwitchDrain();
  void closeIdleOfUnusedPools();
  struct DrainWait;
  void pollDrainWaits();
  // The access log settings `config` asks for; opens a new sink unless `reuse` serves.
  absl::StatusOr<AccessLogSettings> accessLogFor(const routing::config::Config& config,
                                                         bool force_reopen) const;
  void applyAccessLog(const AccessLogSettings& settings);
  bool startAdmin();
  absl::StatusOr<std::string> adminToken(const routing::config::Config& config) const;
  // Hands `snapshot` to every worker; `done` runs on the control loop once all adopted it.
  void publish(routing::ConfigSnapshotPtr snapshot, std::function<void()> done);
  void beginShutdown(const char* reason);
  void stopWorkers();
  void onWorkerStarted();
  void onWorkerDrained();
  void onWorkerStopped();
  void closeControlHandles();

  static void onSignal(uv_signal_t* handle, int signum);

  ConfigSource source_;
  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> loop_context_;
  core::Dispatcher dispatcher_;
  uv_signal_t sighup_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  uv_signal_t sigusr1_{};
  uv_timer_t shutdown_timer_{};
  uv_timer_t switch_drain_timer_{};
  uv_timer_t drain_poll_timer_{};
  std::shared_ptr<const routing::config::Config> config_;
  routing::SnapshotBuilder builder_;
  routing::ConfigSnapshotPtr snapshot_;
  routing::TrafficState traffic_;
  health::BackendStateTable backend_states_;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<health::OutlierDetector> outliers_;
  // backend_ejection_skipped repeats with every failed request of a pool at its ejection cap.
  core::LogThrottle ejection_skipped_log_;
  std::vector<std::unique_ptr<DrainWait>> drain_waits_;
  admin::AdminApi admin_api_{*this};
  admin::ControlMetrics control_metrics_;
  AccessLogSettings access_log_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  absl::Time started_at_ = absl::Now();
  uint32_t worker_count_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> listening_addresses_;
  uint32_t workers_started_ = 0;
  uint32_t workers_drained_ = 0;
  uint32_t workers_stopped_ = 0;
  bool shutting_down_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace sy::proxy
