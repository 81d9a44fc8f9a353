#include "proxy/control/server.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admin/status_json.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/signals.h"
#include "core/thread_role.h"
#include "proxy/control/admin_credentials.h"
#include "proxy/control/listener_sockets.h"
#include "proxy/control/rollout_declarations.h"
#include "proxy/control/state_file.h"
#include "proxy/control/upgrade_channel.h"
#include "proxy/service_notify.h"

namespace sy::proxy::control {

void Server::configInvalid(nlohmann::json errors) {
  startup_error_ = "configuration invalid: " + errors.dump();
  core::logError("config_invalid",
                 {{"config", state_.source.name()}, {"errors", std::move(errors)}});
}

Server::Server(ConfigSource source) : state_(std::move(source)) {
  traffic_.setFleet(&fleet_);
  backends_.setFleet(&fleet_);
  fleet_.setRecheck([this](const std::string& pool, const std::string& address) {
    health_.checkNow(pool, address);
  });
  traffic_.setRolloutGuard([this](const std::string& route) { return rollouts_.running(route); });
  state_.rollouts_json = [this] { return rollouts_.toJson(); };
  reloader_.trackListenerSockets(&listener_fds_);
  reloader_.followDns(&dns_);
  reloader_.setReloaded([this] {
    rollouts_.endOrphaned();
    rollouts_.startDeclared();
  });
}

Server::~Server() {
  for (auto& worker : workers_) worker->join();
}

bool Server::loadInitialState() {
  routing::config::LoadResult loaded = state_.source.load();
  addDeclaredRolloutErrors(loaded);
  if (!loaded.ok()) {
    configInvalid(configErrorsJson(loaded.errors));
    return false;
  }
  if (absl::Status resolved = dns_.prepare(*loaded.config); !resolved.ok()) {
    configInvalid({std::string(resolved.message())});
    return false;
  }
  state_.adoptFile(std::make_shared<const routing::config::Config>(std::move(*loaded.config)));
  dns_.adopted(*state_.file_config);
  uint32_t workers = state_.config->server.workers;
  if (workers == 0) workers = static_cast<uint32_t>(uv_available_parallelism());
  state_.worker_count = workers;
  state_.builder.setWorkerCount(workers);
  state_.traffic.reconcile(*state_.config);
  state_.backend_states.reconcile(*state_.config);
  if (handed_state_.has_value()) {
    applyStateJson(state_, *handed_state_, "upgrade");
  } else {
    restoreState(state_);
  }
  // [fleet]: the fleet's state wins over the file's.
  if (absl::Status fleet = fleet_.loadAtStart(); !fleet.ok()) {
    configInvalid({std::string(fleet.message())});
    return false;
  }
  if (!state_.backend_overlay.empty()) {  // the state had runtime backends
    for (const std::string& note : state_.applyBackendOverlay()) {
      core::logWarn("backend_changes_dropped", {{"detail", note}});
    }
    state_.backend_states.reconcile(*state_.config);
  }
  if (absl::Status tls = state_.builder.loadTls(*state_.config); !tls.ok()) {
    configInvalid({std::string(tls.message())});
    return false;
  }
  state_.rebuildSnapshot();
  auto credentials = adminCredentials(state_.config->admin);
  if (!credentials.ok()) {
    configInvalid({std::string(credentials.status().message())});
    return false;
  }
  admin_api_.setCredentials(*std::move(credentials));
  admin_api_.setAllowedHosts(state_.config->admin.allowed_hosts);
  auto admin_tls = adminTls(state_.config->admin);
  if (!admin_tls.ok()) {
    configInvalid({std::string(admin_tls.status().message())});
    return false;
  }
  admin_tls_ = *std::move(admin_tls);
  auto access_log = reloader_.accessLogFor(*state_.config, false);
  if (!access_log.ok()) {
    configInvalid({std::string(access_log.status().message())});
    return false;
  }
  reloader_.applyAccessLog(*access_log);  // no worker yet: they start with it
  return true;
}

int Server::run() {
  core::setThreadRole(core::ThreadRole::kControl);
  // libuv writes with write(2): a peer that vanished must cost one connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  InheritedSockets inherited;
  if (!takeInheritedSockets(&inherited)) return startFailed(startup_error_);
  if (!loadInitialState()) return startFailed(startup_error_);

  ListenerSockets sockets;
  if (!openListenerSockets(*state_.config, state_.worker_count, &sockets, &inherited)) {
    return startFailed(sockets.error);
  }
  listening_addresses_ = std::move(sockets.addresses);
  listener_fds_ = sockets.fds_by_worker;

  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    core::logError("loop_init_failed", {{"error", uv_strerror(rc)}});
    return startFailed(uv_strerror(rc));
  }
  loop_context_ = std::make_unique<core::LoopContext>(&loop_);
  dispatcher_.init(&loop_);
  uv_signal_init(&loop_, &sighup_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigusr1_);
  uv_signal_init(&loop_, &sigusr2_);
  uv_timer_init(&loop_, &shutdown_timer_);
  uv_timer_init(&loop_, &accept_grace_timer_);
  uv_timer_init(&loop_, &stats_timer_);
  stats_timer_.data = this;
  sampleStats();  // the first reading: the first second's sample comes one second later
  uv_timer_start(
      &stats_timer_, [](uv_timer_t* timer) { static_cast<Server*>(timer->data)->sampleStats(); },
      1000, 1000);
  traffic_.start(&loop_);
  rollouts_.start(&loop_, state_.saved_rollouts);
  backends_.start(&loop_);
  if (absl::Status dns = dns_.start(&loop_); !dns.ok()) {
    // The names resolved at load stay; only their re-resolution is lost.
    core::logError("dns_resolver_failed", {{"error", std::string(dns.message())}});
  }
  sighup_.data = sigterm_.data = sigint_.data = sigusr1_.data = sigusr2_.data = this;
  shutdown_timer_.data = accept_grace_timer_.data = this;
  uv_signal_start(&sighup_, &Server::onSignal, SIGHUP);
  uv_signal_start(&sigterm_, &Server::onSignal, SIGTERM);
  uv_signal_start(&sigint_, &Server::onSignal, SIGINT);
  uv_signal_start(&sigusr1_, &Server::onSignal, SIGUSR1);
  uv_signal_start(&sigusr2_, &Server::onSignal, SIGUSR2);
  if (!startAdmin(inherited)) {
    closeListenerSockets(sockets.fds_by_worker);
    closeControlHandles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return startFailed(startup_error_);
  }
  // A listener removed from the configuration since: the old process keeps it until it exits.
  inherited.closeUnused();
  fleet_.start(&loop_, admin_server_->address().toString());
  fleet_rollouts_.start(&loop_);

  startWorkers(sockets.fds_by_worker);
  health_.start(&loop_);
  ticket_rotation_.start(&loop_);
  configureTicketRotation();
  state_.metrics.declareRoutes(routeNames());
  for (size_t i = 0; i < state_.config->listeners.size(); ++i) {
    core::logInfo("listening", {{"listener", state_.config->listeners[i].name},
                                {"address", listening_addresses_[i]}});
  }

  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_) worker->join();
  workers_.clear();
  uv_loop_close(&loop_);
  loop_context_.reset();
  core::logInfo("stopped", {{"exit_code", exit_code_}});
  return exit_code_;
}

void Server::startWorkers(std::vector<std::vector<int>>& fds_by_worker) {
  for (uint32_t i = 0; i < state_.worker_count; ++i) {
    Worker::Hooks hooks;
    hooks.started = [this](uint32_t) { dispatcher_.post([this] { onWorkerStarted(); }); };
    hooks.drained = [this](uint32_t) { dispatcher_.post([this] { onWorkerDrained(); }); };
    hooks.stopped = [this](uint32_t) { dispatcher_.post([this] { onWorkerStopped(); }); };
    hooks.outlier = [this](const std::string& pool, const std::string& address) {
      dispatcher_.post([this, pool, address] { health_.reportFailures(pool, address); });
    };
    workers_.push_back(std::make_unique<Worker>(i, std::move(hooks)));
    const int rc =
        workers_.back()->start(std::move(fds_by_worker[i]), state_.snapshot, reloader_.accessLog());
    if (rc != 0) {
      core::logError("worker_start_failed", {{"worker", i}, {"error", uv_strerror(rc)}});
      workers_.pop_back();
      exit_code_ = startFailed(std::string("worker start failed: ") + uv_strerror(rc));
      beginShutdown("startup failed");
      break;
    }
  }
}

void Server::onWorkerStarted() {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (++workers_started_ == workers_.size() && !state_.shutting_down) {
    if (upgrade_channel_ >= 0) {
      // The old process stops accepting once it reads this: every worker accepts already. It
      // tells systemd (MAINPID=); a READY=1 from here, not the main process yet, would be
      // refused under NotifyAccess=main, and the service is running already.
      sendChannelMessage(upgrade_channel_, {{"ready", true}, {"pid", ::getpid()}}).IgnoreError();
      ::close(std::exchange(upgrade_channel_, -1));
    } else {
      notifyReady();
    }
    core::logInfo("ready", {{"workers", workers_.size()},
                            {"pid", ::getpid()},
                            {"config", state_.source.name()},
                            {"generation", state_.snapshot->generation},
                            {"version", core::versionString()}});
    // A declared rollout publishes its first weight: only once every worker takes publishes.
    rollouts_.startDeclared();
  }
}

void Server::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  if (signum == SIGHUP) {
    // Failures are logged by reloadConfig; a signal has nobody to answer.
    self->reloader_.reloadConfig("SIGHUP", nullptr).status().IgnoreError();
  } else if (signum == SIGUSR1) {
    self->reloader_.reopenAccessLog();
  } else if (signum == SIGUSR2) {
    // As nginx's USR2: the outcome is in the log (upgrade_completed or upgrade_failed, and
    // upgrade_refused when one runs already or the process is stopping).
    self->upgrade("", [](admin::Reply reply) {
      if (reply.status == 409 || reply.status == 503) {
        core::logWarn("upgrade_refused", {{"trigger", "SIGUSR2"}, {"error", reply.body["error"]}});
      }
    });
  } else {
    self->beginShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  }
}

bool Server::startAdmin(InheritedSockets& inherited) {
  const routing::config::AdminConfig& admin = state_.config->admin;
  if (!startAdminServer(inherited, "admin", admin.listen, admin_api_, admin_tls_, &admin_server_)) {
    return false;
  }
  // Probes and scrapers speak plain HTTP and carry no token.
  return admin.probes_listen_text.empty() ||
         startAdminServer(inherited, "probes", admin.probes_listen, probes_api_, nullptr,
                          &probes_server_);
}

bool Server::startAdminServer(InheritedSockets& inherited, const char* name,
                              const core::NetAddress& address, admin::AdminApi& api,
                              std::shared_ptr<const tls::ServerContext> tls,
                              std::unique_ptr<admin::AdminServer>* server) {
  *server = std::make_unique<admin::AdminServer>(&loop_, api, adminLimits(state_.config->admin));
  (*server)->setTls(tls);
  std::vector<int> fds = inherited.take(InheritedSockets::Kind::kAdmin, name, address);
  for (size_t i = 1; i < fds.size(); ++i) ::close(fds[i]);
  const int rc = fds.empty() ? (*server)->listen(address) : (*server)->listenOn(fds.front());
  if (rc != 0) {
    startup_error_ = absl::StrCat(name, " listener on ", address.toString(), ": ", uv_strerror(rc));
    core::logError(
        "listen_failed",
        {{"listener", name}, {"address", address.toString()}, {"error", uv_strerror(rc)}});
    server->reset();
    return false;
  }
  core::logInfo(std::string(name) + "_listening",
                {{"address", (*server)->address().toString()}, {"tls", tls != nullptr}});
  return true;
}

void Server::configureTicketRotation() {
  std::vector<TicketRotation::Entry> entries;
  auto add = [&](const std::string& name, const std::shared_ptr<const tls::ServerContext>& tls) {
    if (tls == nullptr) return;
    entries.push_back({name, tls->ticketKeys(),
                       static_cast<uint64_t>(absl::ToInt64Milliseconds(tls->ticketKeyRotation()))});
  };
  for (const auto& listener : state_.config->listeners) {
    add(listener.name, state_.builder.listenerTls(listener.name));
  }
  add("admin", admin_tls_);
  ticket_rotation_.configure(std::move(entries));
}

std::string Server::metrics() const {
  admin::DataPlaneView view;
  view.snapshot = state_.snapshot.get();
  view.traffic = &state_.traffic;
  for (const auto& worker : workers_) view.workers.push_back(&worker->stats());
  view.worker_post_failures = publisher_.failedPosts();
  for (const auto& pool : state_.snapshot->pools) {
    for (const auto& entry : pool->backends) {
      const health::BackendRecord* record =
          state_.backend_states.find(pool->name, entry.info->address_text);
      if (record == nullptr) continue;
      admin::BackendState backend;
      backend.health = routing::healthStateName(record->health);
      // "drained" is the end of draining; a disabled backend stays "disabled".
      backend.admin = record->admin == routing::AdminState::kDraining &&
                              admin::backendDrained(state_.snapshot.get(), *record)
                          ? "drained"
                          : routing::adminStateName(record->admin);
      view.backend_states[entry.info->id] = backend;
    }
  }
  std::vector<prometheus::MetricFamily> fleet;
  if (fleet_.enabled()) {
    fleet_.collectMetrics(&fleet);
    fleet_rollouts_.collectMetrics(&fleet);
  }
  return state_.metrics.render(view, std::move(fleet));
}

void Server::sampleStats() {
  if (state_.snapshot == nullptr) return;
  stats_sampler_.add(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()),
                     admin::readStats(*state_.snapshot));
}

nlohmann::json Server::status() const {
  const admin::ProcessStatus process{
      .uptime_seconds = absl::ToDoubleSeconds(absl::Now() - state_.started_at),
      .config = state_.source.name(),
      .workers = state_.worker_count,
      .ready = ready()};
  nlohmann::json status = admin::statusJson(process, *state_.config, state_.traffic,
                                            *state_.snapshot, state_.backend_states);
  if (fleet_.enabled()) {
    status["fleet"] = fleet_.statusJson();
    fleet_rollouts_.addStatus(status["fleet"]);
  }
  return status;
}

void Server::republish(const char* reason) {
  state_.rebuildSnapshot();
  const uint64_t generation = state_.snapshot->generation;
  const std::string why = reason;
  publisher_.publish(state_.snapshot, [generation, why](const absl::Status& published) {
    if (!published.ok()) return;  // logged by the publisher; nobody waits for this one
    core::logDebug("snapshot_published", [&] {
      return nlohmann::json{{"generation", generation}, {"reason", why}};
    });
  });
}

void Server::beginShutdown(const char* reason) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) {
    if (in_accept_grace_) {
      // A second SIGTERM: the operator (or a process manager) does not want to wait.
      core::logInfo("accept_grace_skipped", {{"reason", reason}});
      stopAccepting();
      return;
    }
    core::logWarn("shutdown_forced", {{"reason", reason}});
    stopWorkers("shutdown_forced");
    return;
  }
  state_.shutting_down = true;  // from here /readyz answers 503
  // After a hot upgrade the service goes on in the new process: STOPPING=1 would be wrong, and
  // so would a grace, since the new process accepts on the same sockets already.
  if (!handed_over_) notifyStopping();
  const uint64_t grace_ms =
      handed_over_
          ? 0
          : static_cast<uint64_t>(absl::ToInt64Milliseconds(state_.config->server.accept_grace));
  core::logInfo(
      "shutdown_started",
      {{"reason", reason},
       {"accept_grace_ms", grace_ms},
       {"timeout_ms", absl::ToInt64Milliseconds(state_.config->server.shutdown_timeout)}});
  if (workers_.empty()) {
    stopWorkers("shutdown");
    return;
  }
  if (grace_ms == 0) {
    stopAccepting();
    return;
  }
  // The listeners stay open until an outer load balancer has seen the 503 and stopped sending;
  // keep-alive ends now, so its clients move to other instances with their next request.
  in_accept_grace_ = true;
  publisher_.runOnAll("drain", [](Worker& worker) { worker.drain(false); });
  uv_timer_start(
      &accept_grace_timer_,
      [](uv_timer_t* timer) { static_cast<Server*>(timer->data)->stopAccepting(); }, grace_ms, 0);
}

void Server::stopAccepting() {
  in_accept_grace_ = false;
  uv_timer_stop(&accept_grace_timer_);
  const uint64_t timeout_ms =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(state_.config->server.shutdown_timeout));
  core::logInfo("accepting_stopped", {{"timeout_ms", timeout_ms}});
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* timer) {
        auto* self = static_cast<Server*>(timer->data);
        core::logWarn("shutdown_timeout", {{"detail", "closing the connections still open"}});
        self->stopWorkers("shutdown_timeout");
      },
      timeout_ms, 0);
  publisher_.runOnAll("drain", [](Worker& worker) { worker.drain(true); });
}

void Server::onWorkerDrained() {
  if (++workers_drained_ == workers_.size()) stopWorkers("shutdown");
}

void Server::stopWorkers(const char* reason) {
  if (stopping_) return;
  stopping_ = true;
  uv_timer_stop(&shutdown_timer_);
  uv_timer_stop(&accept_grace_timer_);
  in_accept_grace_ = false;
  if (workers_.empty()) {
    closeControlHandles();
    return;
  }
  publisher_.runOnAll("stop", [reason](Worker& worker) { worker.stop(reason); });
  // Each worker closes its loop once stopped: a post after this one may find it gone.
  publisher_.setStopping();
}

void Server::onWorkerStopped() {
  if (++workers_stopped_ == workers_.size()) closeControlHandles();
}

void Server::closeControlHandles() {
  upgrader_.close();
  if (admin_server_ != nullptr) admin_server_->close();
  if (probes_server_ != nullptr) probes_server_->close();
  ticket_rotation_.close();
  health_.stop();
  backends_.close();
  dns_.close();
  rollouts_.close();
  traffic_.close();
  fleet_rollouts_.close();
  fleet_.close();
  // Blocked here and in every worker: none can take its default action (death) between the
  // closes, which restore it, and the ignore.
  const sigset_t previous = core::blockControlSignals();
  uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigusr1_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigusr2_), nullptr);
  core::ignoreControlSignals();
  core::restoreSignalMask(previous);
  uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_grace_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stats_timer_), nullptr);
  dispatcher_.close();
}

}  // namespace sy::proxy::control
