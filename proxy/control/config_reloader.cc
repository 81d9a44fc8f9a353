#include "proxy/control/config_reloader.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/admin_credentials.h"
#include "proxy/control/listener_changes.h"
#include "proxy/control/rollout_declarations.h"
#include "proxy/control/state_file.h"
#include "proxy/control/status_reply.h"
#include "proxy/service_notify.h"

namespace sy::proxy::control {
namespace {

using routing::config::Config;

}  // namespace

nlohmann::json configErrorsJson(const std::vector<routing::config::ConfigError>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& error : errors) list.push_back(error.toString());
  return list;
}

admin::AdminServerLimits adminLimits(const routing::config::AdminConfig& admin) {
  return {
      .max_connections = admin.max_connections,
      .request_timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(admin.request_timeout)),
      .idle_timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(admin.idle_timeout))};
}

absl::StatusOr<std::shared_ptr<const tls::ServerContext>> adminTls(
    const routing::config::AdminConfig& admin) {
  if (!admin.tls.has_value()) return nullptr;
  auto context = tls::ServerContext::create(*admin.tls);
  if (!context.ok())
    return absl::InvalidArgumentError(absl::StrCat("admin.", context.status().message()));
  return context;
}

ConfigReloader::ConfigReloader(ControlState& state, Publisher& publisher, HealthWiring& health,
                               ApplyAdmin apply_admin)
    : state_(state), publisher_(publisher), health_(health), apply_admin_(std::move(apply_admin)) {}

absl::StatusOr<uint64_t> ConfigReloader::reloadConfig(
    const char* trigger, std::function<void(absl::StatusOr<uint64_t>)> done) {
  SY_DCHECK_ON_CONTROL_THREAD();
  auto fail = [&](const nlohmann::json& errors) -> absl::Status {
    state_.metrics.reloaded(false);
    notifyReady();  // refused: the running configuration stays in service
    core::logError("config_reload_failed", {{"trigger", trigger},
                                            {"config", state_.source.name()},
                                            {"errors", errors},
                                            {"kept_generation", state_.snapshot->generation}});
    return absl::InvalidArgumentError(errors.dump());
  };
  if (state_.shutting_down) return absl::UnavailableError("shutting down");
  // The service manager sees the reload begin here and end with READY=1 once every worker runs
  // the new configuration, or at once when it is refused (in `fail`).
  notifyReloading();
  routing::config::LoadResult loaded = state_.source.load();
  addDeclaredRolloutErrors(loaded);
  if (!loaded.ok()) return fail(configErrorsJson(loaded.errors));
  auto token = adminCredentials(loaded.config->admin);
  if (!token.ok()) return fail({std::string(token.status().message())});
  // Before loadTls(), which keeps the listeners' new contexts once it succeeds.
  auto admin_tls = adminTls(loaded.config->admin);
  if (!admin_tls.ok()) return fail({std::string(admin_tls.status().message())});
  if (loaded.config->server.workers != state_.config->server.workers) {
    core::logWarn("config_reload_partial",
                  {{"detail", "server.workers takes effect at the next restart"}});
  }
  if (loaded.config->admin.listen_text != state_.config->admin.listen_text) {
    core::logWarn("config_reload_partial",
                  {{"detail", "admin.listen takes effect at the next restart"}});
  }
  if (loaded.config->admin.probes_listen_text != state_.config->admin.probes_listen_text) {
    core::logWarn("config_reload_partial",
                  {{"detail", "admin.probes_listen takes effect at the next restart"}});
  }
  auto access_log = accessLogFor(*loaded.config, false);
  if (!access_log.ok()) return fail({std::string(access_log.status().message())});
  if (dns_ != nullptr) {
    if (absl::Status resolved = dns_->prepare(*loaded.config); !resolved.ok()) {
      return fail({std::string(resolved.message())});
    }
  }
  // New and moved listeners' sockets, before anything else is applied: a port that cannot be
  // bound refuses the reload and changes nothing.
  auto listeners = std::make_shared<ListenerChanges>();
  if (absl::Status opened = listeners->open(*state_.config, *loaded.config, state_.worker_count);
      !opened.ok()) {
    return fail({std::string(opened.message())});
  }
  std::vector<std::vector<int>> sockets_after;
  if (listener_fds_ != nullptr) {
    sockets_after = listeners->socketsAfter(*state_.config, *loaded.config, *listener_fds_);
  }
  // Certificates are re-read here; a bad one refuses the reload and the running ones stay.
  if (absl::Status tls = state_.builder.loadTls(*loaded.config); !tls.ok()) {
    return fail({std::string(tls.message())});
  }
  if (apply_admin_) apply_admin_(*token, loaded.config->admin, *std::move(admin_tls));
  applyAccessLog(*access_log);
  state_.metrics.reloaded(true);
  for (const std::string& note :
       state_.adoptFile(std::make_shared<const Config>(std::move(*loaded.config)))) {
    core::logWarn("backend_changes_dropped", {{"detail", note}});
  }
  if (dns_ != nullptr) dns_->adopted(*state_.file_config);
  for (const std::string& note : state_.traffic.reconcile(*state_.config)) {
    core::logWarn("traffic_state_reset", {{"detail", note}});
  }
  state_.backend_states.reconcile(*state_.config);
  health_.configure(*state_.config);
  state_.metrics.declareRoutes(state_.routeNames());
  const routing::ConfigSnapshotPtr before = state_.snapshot;
  state_.rebuildSnapshot();
  const uint64_t generation = state_.snapshot->generation;
  const std::string trigger_name = trigger;
  Publisher::Task adopt = [snapshot = state_.snapshot](Worker& worker) { worker.adopt(snapshot); };
  if (!listeners->empty()) {
    if (listener_fds_ != nullptr) *listener_fds_ = std::move(sockets_after);
    listeners->resolve(*before, *state_.snapshot);
    listeners->log();
    // One task: a worker never accepts on a listener its snapshot does not have.
    adopt = [snapshot = state_.snapshot, listeners](Worker& worker) {
      worker.adopt(snapshot);
      listeners->applyTo(worker);
    };
  }
  publisher_.runOnAll(
      "publish", std::move(adopt),
      [this, generation, trigger_name, done = std::move(done)](const absl::Status& published) {
        if (!state_.shutting_down) notifyReady();  // after STOPPING=1, READY=1 would undo it
        if (!published.ok()) {
          // Logged as worker_post_failed by the publisher; the caller learns it here.
          if (done) done(published);
          return;
        }
        core::logInfo("config_reloaded", {{"trigger", trigger_name}, {"generation", generation}});
        if (reloaded_ && !state_.shutting_down) reloaded_();
        if (done) done(generation);
      });
  saveState(state_);
  return generation;
}

void ConfigReloader::reload(admin::Responder respond) {
  // The answer comes once every worker runs the new configuration, like every admin change.
  const std::string config_name = state_.source.name();
  auto result = reloadConfig("admin", [respond, config_name](absl::StatusOr<uint64_t> generation) {
    if (!generation.ok()) return respond(publishFailureReply(generation.status()));
    respond(admin::jsonReply(200, {{"generation", *generation}, {"config", config_name}}));
  });
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kUnavailable) {
      respond(admin::errorReply(503, "shutting down"));
      return;
    }
    admin::Reply reply =
        admin::errorReply(400, "the configuration is invalid; the running one is kept");
    reply.body["errors"] =
        nlohmann::json::parse(std::string(result.status().message()), nullptr, false);
    respond(std::move(reply));
  }
}

absl::StatusOr<AccessLogSettings> ConfigReloader::accessLogFor(const Config& config,
                                                               bool force_reopen) const {
  AccessLogSettings settings;
  if (!config.access_log) return settings;  // off
  const routing::config::AccessLogConfig& wanted = *config.access_log;
  settings.flush_interval_ms =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(wanted.flush_interval));
  settings.buffer_bytes = wanted.buffer_bytes;
  if (!force_reopen && access_log_.sink != nullptr && access_log_.sink->path() == wanted.path) {
    settings.sink = access_log_.sink;
    return settings;
  }
  auto sink = AccessLogSink::open(wanted.path);
  if (!sink.ok()) return sink.status();
  settings.sink = *sink;
  return settings;
}

void ConfigReloader::applyAccessLog(const AccessLogSettings& settings) {
  access_log_ = settings;
  publisher_.runOnAll("set_access_log", [settings](Worker& worker) {
    worker.setAccessLog(settings.sink, settings.flush_interval_ms, settings.buffer_bytes);
  });
}

void ConfigReloader::reopenAccessLog() {
  auto reopened = accessLogFor(*state_.config, true);
  if (!reopened.ok()) {
    core::logError("access_log_reopen_failed", {{"error", reopened.status().message()}});
    return;
  }
  applyAccessLog(*reopened);
  if (access_log_.sink != nullptr) {
    core::logInfo("access_log_reopened", {{"path", access_log_.sink->path()}});
  }
}

}  // namespace sy::proxy::control
