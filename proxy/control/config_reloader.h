#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "admin/admin_server.h"
#include "admin/control_plane.h"
#include "nlohmann/json.hpp"
#include "proxy/access_log.h"
#include "proxy/control/control_state.h"
#include "proxy/control/dns_follower.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/publisher.h"
#include "routing/config/model.h"
#include "tls/server_context.h"

namespace sy::proxy::control {

// The configuration errors as a JSON list of lines.
nlohmann::json configErrorsJson(const std::vector<routing::config::ConfigError>& errors);
admin::AdminServerLimits adminLimits(const routing::config::AdminConfig& admin);
// The admin API's TLS context (its certificates read now); null when admin.tls is absent.
absl::StatusOr<std::shared_ptr<const tls::ServerContext>> adminTls(
    const routing::config::AdminConfig& admin);

// Re-reads the configuration (SIGHUP or POST /admin/reload) and applies it live: the admin token,
// limits and certificates, the access log, the traffic and backend state reconciled with the new
// routes and pools, the health checks, the listeners (proxy/control/listener_changes.h: added,
// removed and moved ones open or close their sockets, the others keep theirs), then a snapshot
// published to every worker. A configuration that fails to load, names a missing certificate or a
// port that cannot be bound is refused as a whole and the running one stays. Also owns the access
// log settings (SIGUSR1 reopens the file). Control thread only.
class ConfigReloader {
 public:
  // Applies the admin tokens, limits and TLS context (null: plain) of a new configuration.
  using ApplyAdmin = std::function<void(std::vector<admin::AdminApi::Credential> credentials,
                                        const routing::config::AdminConfig& admin,
                                        std::shared_ptr<const tls::ServerContext> tls)>;

  ConfigReloader(ControlState& state, Publisher& publisher, HealthWiring& health,
                 ApplyAdmin apply_admin);
  ConfigReloader(const ConfigReloader&) = delete;
  ConfigReloader& operator=(const ConfigReloader&) = delete;

  // Re-reads the configuration. Returns the generation published, or the errors (kUnavailable
  // while shutting down; kInvalidArgument with the errors as a JSON list in the message).
  // `done` (optional) runs once every worker runs the new configuration, or with the error of a
  // failed publish.
  absl::StatusOr<uint64_t> reloadConfig(const char* trigger,
                                        std::function<void(absl::StatusOr<uint64_t>)> done);
  // Runs after each reload is in force on every worker (the rollouts it declares start then).
  void setReloaded(std::function<void()> reloaded) { reloaded_ = std::move(reloaded); }
  // The server's listening sockets [worker][listener], kept current across listener changes
  // (a hot upgrade hands them over).
  void trackListenerSockets(std::vector<std::vector<int>>* fds) { listener_fds_ = fds; }
  // The pools that follow DNS: a reload resolves their new names before anything changes (a
  // name that does not resolve refuses it).
  void followDns(DnsFollower* dns) { dns_ = dns; }
  // POST /admin/reload: answers once every worker runs the new configuration.
  void reload(admin::Responder respond);

  // The access log settings `config` asks for; opens a new sink unless the running one serves
  // (same path and not `force_reopen`).
  absl::StatusOr<AccessLogSettings> accessLogFor(const routing::config::Config& config,
                                                 bool force_reopen) const;
  // Makes `settings` the access log of every worker.
  void applyAccessLog(const AccessLogSettings& settings);
  const AccessLogSettings& accessLog() const { return access_log_; }
  // SIGUSR1: logrotate moved the file away, write to a fresh one with the same name.
  void reopenAccessLog();

 private:
  ControlState& state_;
  Publisher& publisher_;
  HealthWiring& health_;
  ApplyAdmin apply_admin_;
  std::function<void()> reloaded_;
  std::vector<std::vector<int>>* listener_fds_ = nullptr;
  DnsFollower* dns_ = nullptr;
  AccessLogSettings access_log_;
};

}  // namespace sy::proxy::control
