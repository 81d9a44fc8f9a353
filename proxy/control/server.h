#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "admin/admin_api.h"
#include "admin/admin_server.h"
#include "admin/control_plane.h"
#include "admin/stats_sampler.h"
#include "core/dispatcher.h"
#include "core/loop_context.h"
#include "proxy/config_source.h"
#include "proxy/control/backend_admin.h"
#include "proxy/control/backend_set.h"
#include "proxy/control/config_reloader.h"
#include "proxy/control/control_state.h"
#include "proxy/control/fleet_rollouts.h"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/publisher.h"
#include "proxy/control/rollout_controller.h"
#include "proxy/control/ticket_rotation.h"
#include "proxy/control/traffic_control.h"
#include "proxy/control/upgrader.h"
#include "proxy/inherited_sockets.h"
#include "proxy/worker.h"

namespace sy::proxy::control {

// The control thread: owns the configuration and the runtime traffic state, builds snapshots
// and publishes them to every worker, serves the admin API, handles signals (SIGHUP reload,
// SIGUSR1 access log reopen, SIGUSR2 hot binary upgrade, SIGTERM/SIGINT graceful shutdown).
// Never on the request path.
//
// This class is the lifecycle (start, workers, signals, shutdown); each admin job lives in a
// part of its own (traffic_control, backend_admin, config_reloader, health_wiring), all sharing
// the ControlState and reaching the workers through the one Publisher.
class Server final : public admin::ControlPlane {
 public:
  explicit Server(ConfigSource source);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until shutdown, on the calling thread (which becomes the control thread). Returns the
  // process exit code.
  int run();

  // admin::ControlPlane (control loop).
  std::vector<std::string> routeNames() const override { return state_.routeNames(); }
  void switchPool(const std::string& route, const std::string& pool, bool force,
                  const admin::ChangeScope& scope, admin::Responder respond) override {
    traffic_.switchPool(route, pool, force, scope, std::move(respond));
  }
  void rollback(const std::string& route, const admin::ChangeScope& scope,
                admin::Responder respond) override {
    traffic_.rollback(route, scope, std::move(respond));
  }
  void setCanary(const std::string& route, const std::string& pool, double weight,
                 const admin::ChangeScope& scope, admin::Responder respond) override {
    traffic_.setCanary(route, pool, weight, scope, std::move(respond));
  }
  void promote(const std::string& route, const admin::ChangeScope& scope,
               admin::Responder respond) override {
    traffic_.promote(route, scope, std::move(respond));
  }
  void setMirror(const std::string& route, const std::string& pool, double percent,
                 const admin::ChangeScope& scope, admin::Responder respond) override {
    traffic_.setMirror(route, pool, percent, scope, std::move(respond));
  }
  void startRollout(const nlohmann::json& body, const std::string& default_route,
                    admin::Responder respond) override {
    rollouts_.create(body, default_route, admin::ChangeScope{}, std::move(respond));
  }
  void switchAndVerify(const std::string& route, const std::string& pool, const std::string& verify,
                       const admin::ChangeScope& scope, admin::Responder respond) override {
    rollouts_.create(verifyRolloutBody(route, pool, verify), route, scope, std::move(respond));
  }
  void showRollouts(const std::string& route, admin::Responder respond) override {
    rollouts_.show(route, std::move(respond));
  }
  void rolloutCommand(const std::string& route, const std::string& verb,
                      admin::Responder respond) override {
    rollouts_.command(route, verb, std::move(respond));
  }
  bool fleetEnabled() const override { return fleet_.enabled(); }
  void reload(admin::Responder respond) override { reloader_.reload(std::move(respond)); }
  void upgrade(const std::string& binary, admin::Responder respond) override;
  void setBackendAdmin(const std::string& pool, const std::string& address,
                       routing::AdminState state, absl::Duration wait,
                       const admin::ChangeScope& scope, admin::Responder respond) override {
    backends_.setBackendAdmin(pool, address, state, wait, scope, std::move(respond));
  }
  void addBackend(const std::string& pool, const nlohmann::json& body,
                  admin::Responder respond) override {
    backend_set_.add(pool, body, std::move(respond));
  }
  void reweightBackend(const std::string& pool, const std::string& address,
                       const nlohmann::json& body, admin::Responder respond) override {
    backend_set_.reweight(pool, address, body, std::move(respond));
  }
  void removeBackend(const std::string& pool, const std::string& address, absl::Duration wait,
                     bool force, admin::Responder respond) override {
    backend_set_.remove(pool, address, wait, force, std::move(respond));
  }
  nlohmann::json status() const override;
  bool ready() const override { return !state_.shutting_down; }
  std::string metrics() const override;
  nlohmann::json stats() const override { return stats_sampler_.toJson(); }

 private:
  // Loads the configuration and everything built from it before any thread starts.
  bool loadInitialState();
  // The sockets this process inherits: from the process it replaces ($SWITCHYARD_UPGRADE_FD,
  // with the runtime state) or from systemd (LISTEN_FDS). False when a handoff failed.
  bool takeInheritedSockets(InheritedSockets* inherited);
  // Logs the configuration errors and keeps them for an upgrade's reply.
  void configInvalid(nlohmann::json errors);
  // A start that fails: the process that started this one for an upgrade learns why. Returns
  // the exit code.
  int startFailed(const std::string& reason);
  bool startAdmin(InheritedSockets& inherited);
  // Starts one admin-side listener (`name`: "admin" or "probes") on an inherited socket of that
  // name or by binding `address`; logs NAME_listening. False with startup_error_ set on failure.
  bool startAdminServer(InheritedSockets& inherited, const char* name,
                        const core::NetAddress& address, admin::AdminApi& api,
                        std::shared_ptr<const tls::ServerContext> tls,
                        std::unique_ptr<admin::AdminServer>* server);
  // Schedules the ticket key rotation of every TLS listener and the admin API.
  void configureTicketRotation();
  // The old process's end of a hot upgrade (upgrade() started it).
  void upgradeDone(const absl::StatusOr<int>& pid, const admin::Responder& respond);
  void startWorkers(std::vector<std::vector<int>>& fds_by_worker);
  // Rebuilds the snapshot from config, traffic and backend state, and publishes it.
  void republish(const char* reason);
  // SIGTERM/SIGINT: readiness turns 503 at once; the listeners keep accepting for
  // server.accept_grace, then stopAccepting() closes them and the drain runs within
  // server.shutdown_timeout. A second signal during the grace skips the rest of it; one after
  // it closes every connection at once.
  void beginShutdown(const char* reason);
  void stopAccepting();
  // `reason` (a static string) goes into the access log lines of the requests it cuts.
  void stopWorkers(const char* reason);
  void sampleStats();
  void onWorkerStarted();
  void onWorkerDrained();
  void onWorkerStopped();
  void closeControlHandles();

  static void onSignal(uv_signal_t* handle, int signum);

  ControlState state_;
  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> loop_context_;
  core::Dispatcher dispatcher_;
  uv_signal_t sighup_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  uv_signal_t sigusr1_{};
  uv_signal_t sigusr2_{};
  uv_timer_t shutdown_timer_{};
  uv_timer_t accept_grace_timer_{};
  // Reads the counters once a second for /admin/stats (admin/stats_sampler.h).
  uv_timer_t stats_timer_{};
  admin::StatsSampler stats_sampler_;
  // Before the parts that post to them (the publisher keeps a reference).
  std::vector<std::unique_ptr<Worker>> workers_;
  Publisher publisher_{dispatcher_, workers_};
  HealthWiring health_{state_, [this](const char* reason) { republish(reason); }};
  // [fleet]: the traffic state shared through etcd (before the parts that change it).
  FleetSync fleet_{state_, publisher_};
  TrafficControl traffic_{state_, publisher_};
  RolloutController rollouts_{state_, traffic_};
  // [fleet]: the rollouts run by the elected leader from the whole fleet's figures.
  FleetRollouts fleet_rollouts_{fleet_, rollouts_};
  BackendAdmin backends_{state_, publisher_,
                         [this](const std::string& pool, const std::string& address) {
                           health_.checkNow(pool, address);
                         }};
  BackendSet backend_set_{state_, publisher_, health_, backends_};
  DnsFollower dns_{state_, publisher_, health_, backends_};
  ConfigReloader reloader_{
      state_, publisher_, health_,
      [this](std::vector<admin::AdminApi::Credential> credentials,
             const routing::config::AdminConfig& admin,
             std::shared_ptr<const tls::ServerContext> tls) {
        admin_api_.setCredentials(std::move(credentials));
        admin_api_.setAllowedHosts(admin.allowed_hosts);
        admin_tls_ = tls;
        configureTicketRotation();  // the listeners' contexts are the new ones by now
        if (admin_server_ != nullptr) {
          admin_server_->setLimits(adminLimits(admin));
          admin_server_->setTls(std::move(tls));
        }
        if (probes_server_ != nullptr) probes_server_->setLimits(adminLimits(admin));
      }};
  admin::AdminApi admin_api_{*this};
  std::unique_ptr<admin::AdminServer> admin_server_;
  // [admin] probes_listen: /healthz, /readyz and /metrics only, no token.
  admin::AdminApi probes_api_{*this, admin::AdminApi::Surface::kProbes};
  std::unique_ptr<admin::AdminServer> probes_server_;
  std::shared_ptr<const tls::ServerContext> admin_tls_;  // null: the admin API is plain HTTP
  TicketRotation ticket_rotation_;
  std::vector<std::string> listening_addresses_;
  // [worker][listener]: the workers' listening sockets (they own them), for an upgrade to hand
  // over; valid until the drain closes them.
  std::vector<std::vector<int>> listener_fds_;
  Upgrader upgrader_;
  // The new process of an upgrade: its end of the channel, until it reported ready or failed.
  int upgrade_channel_ = -1;
  std::optional<nlohmann::json> handed_state_;  // the old process's state, applied at start
  std::string startup_error_;
  bool handed_over_ = false;  // a hot upgrade's new process took over
  uint32_t workers_started_ = 0;
  uint32_t workers_drained_ = 0;
  uint32_t workers_stopped_ = 0;
  bool in_accept_grace_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace sy::proxy::control
