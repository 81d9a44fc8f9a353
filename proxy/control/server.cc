#include "proxy/control/server.h"

#include <csignal>
#include <utility>

#include "admin/status_json.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/signals.h"
#include "core/thread_role.h"
#include "proxy/control/listener_sockets.h"
#include "proxy/control/state_file.h"
#include "proxy/service_notify.h"

namespace sy::proxy::control {
namespace {

void logConfigInvalid(const std::string& config, nlohmann::json errors) {
  core::logError("config_invalid", {{"config", config}, {"errors", std::move(errors)}});
}

}  // namespace

Server::Server(ConfigSource source) : state_(std::move(source)) {
  traffic_.setRolloutGuard([this](const std::string& route) { return rollouts_.running(route); });
  state_.rollouts_json = [this] { return rollouts_.toJson(); };
}

Server::~Server() {
  for (auto& worker : workers_) worker->join();
}

bool Server::loadInitialState() {
  routing::config::LoadResult loaded = state_.source.load();
  if (!loaded.ok()) {
    logConfigInvalid(state_.source.name(), configErrorsJson(loaded.errors));
    return false;
  }
  state_.config = std::make_shared<const routing::config::Config>(std::move(*loaded.config));
  uint32_t workers = state_.config->server.workers;
  if (workers == 0) workers = static_cast<uint32_t>(uv_available_parallelism());
  state_.worker_count = workers;
  state_.builder.setWorkerCount(workers);
  state_.traffic.reconcile(*state_.config);
  state_.backend_states.reconcile(*state_.config);
  restoreState(state_);
  if (absl::Status tls = state_.builder.loadTls(*state_.config); !tls.ok()) {
    logConfigInvalid(state_.source.name(), {std::string(tls.message())});
    return false;
  }
  state_.rebuildSnapshot();
  auto token = adminToken(*state_.config);
  if (!token.ok()) {
    logConfigInvalid(state_.source.name(), {std::string(token.status().message())});
    return false;
  }
  admin_api_.setToken(*token);
  auto access_log = reloader_.accessLogFor(*state_.config, false);
  if (!access_log.ok()) {
    logConfigInvalid(state_.source.name(), {std::string(access_log.status().message())});
    return false;
  }
  reloader_.applyAccessLog(*access_log);  // no worker yet: they start with it
  return true;
}

int Server::run() {
  core::setThreadRole(core::ThreadRole::kControl);
  // libuv writes with write(2): a peer that vanished must cost one connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (!loadInitialState()) return 1;

  ListenerSockets sockets;
  if (!openListenerSockets(*state_.config, state_.worker_count, &sockets)) return 1;
  listening_addresses_ = std::move(sockets.addresses);

  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    core::logError("loop_init_failed", {{"error", uv_strerror(rc)}});
    return 1;
  }
  loop_context_ = std::make_unique<core::LoopContext>(&loop_);
  dispatcher_.init(&loop_);
  uv_signal_init(&loop_, &sighup_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigusr1_);
  uv_timer_init(&loop_, &shutdown_timer_);
  uv_timer_init(&loop_, &accept_grace_timer_);
  traffic_.start(&loop_);
  rollouts_.start(&loop_, state_.saved_rollouts);
  backends_.start(&loop_);
  sighup_.data = sigterm_.data = sigint_.data = sigusr1_.data = shutdown_timer_.data =
      accept_grace_timer_.data = this;
  uv_signal_start(&sighup_, &Server::onSignal, SIGHUP);
  uv_signal_start(&sigterm_, &Server::onSignal, SIGTERM);
  uv_signal_start(&sigint_, &Server::onSignal, SIGINT);
  uv_signal_start(&sigusr1_, &Server::onSignal, SIGUSR1);
  if (!startAdmin()) {
    closeListenerSockets(sockets.fds_by_worker);
    closeControlHandles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return 1;
  }

  startWorkers(sockets.fds_by_worker);
  health_.start(&loop_);
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
      exit_code_ = 1;
      beginShutdown("startup failed");
      break;
    }
  }
}

void Server::onWorkerStarted() {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (++workers_started_ == workers_.size() && !state_.shutting_down) {
    notifyReady();
    core::logInfo("ready", {{"workers", workers_.size()},
                            {"config", state_.source.name()},
                            {"generation", state_.snapshot->generation},
                            {"version", core::versionString()}});
  }
}

void Server::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  if (signum == SIGHUP) {
    // Failures are logged by reloadConfig; a signal has nobody to answer.
    self->reloader_.reloadConfig("SIGHUP", nullptr).status().IgnoreError();
  } else if (signum == SIGUSR1) {
    self->reloader_.reopenAccessLog();
  } else {
    self->beginShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  }
}

bool Server::startAdmin() {
  admin_server_ =
      std::make_unique<admin::AdminServer>(&loop_, admin_api_, adminLimits(state_.config->admin));
  const int rc = admin_server_->listen(state_.config->admin.listen);
  if (rc != 0) {
    core::logError("listen_failed", {{"listener", "admin"},
                                     {"address", state_.config->admin.listen.toString()},
                                     {"error", uv_strerror(rc)}});
    admin_server_.reset();
    return false;
  }
  core::logInfo("admin_listening", {{"address", admin_server_->address().toString()}});
  return true;
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
  return state_.metrics.render(view);
}

nlohmann::json Server::status() const {
  const admin::ProcessStatus process{
      .uptime_seconds = absl::ToDoubleSeconds(absl::Now() - state_.started_at),
      .config = state_.source.name(),
      .workers = state_.worker_count,
      .ready = ready()};
  return admin::statusJson(process, *state_.config, state_.traffic, *state_.snapshot,
                           state_.backend_states);
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
  notifyStopping();
  const uint64_t grace_ms =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(state_.config->server.accept_grace));
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
  if (admin_server_ != nullptr) admin_server_->close();
  health_.stop();
  backends_.close();
  rollouts_.close();
  traffic_.close();
  // Blocked here and in every worker: none can take its default action (death) between the
  // closes, which restore it, and the ignore.
  const sigset_t previous = core::blockControlSignals();
  uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigusr1_), nullptr);
  core::ignoreControlSignals();
  core::restoreSignalMask(previous);
  uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_grace_timer_), nullptr);
  dispatcher_.close();
}

}  // namespace sy::proxy::control
