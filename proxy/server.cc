#include "proxy/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "proxy/core/atomic_file.h"
#include "proxy/core/build_info.h"
#include "proxy/core/log.h"
#include "proxy/core/signals.h"
#include "proxy/service_notify.h"

namespace sy::proxy {
namespace {

using routing::config::Config;

nlohmann::json errorsJson(const std::vector<routing::config::ConfigError>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& error : errors) list.push_back(error.toString());
  return list;
}

// The running listeners cannot move without a restart; everything else can change live.
std::string listenerChange(const Config& running, const Config& next) {
  if (running.listeners.size() != next.listeners.size()) {
    return "the number of listeners changed";
  }
  for (size_t i = 0; i < running.listeners.size(); ++i) {
    if (running.listeners[i].listen_text != next.listeners[i].listen_text ||
        running.listeners[i].name != next.listeners[i].name ||
        running.listeners[i].backlog != next.listeners[i].backlog) {
      return absl::StrCat("listeners[", i, "] changed its name, address or backlog");
    }
  }
  return "";
}

admin::AdminServerLimits adminLimits(const routing::config::AdminConfig& admin) {
  return {
      .max_connections = admin.max_connections,
      .request_timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(admin.request_timeout)),
      .idle_timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(admin.idle_timeout))};
}

int httpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

const char* balancerName(routing::config::BalancerKind kind) {
  switch (kind) {
    case routing::config::BalancerKind::kRoundRobin:
      return "round_robin";
    case routing::config::BalancerKind::kLeastRequest:
      return "least_request";
    case routing::config::BalancerKind::kHash:
      return "hash";
  }
  return "round_robin";
}

nlohmann::json ruleJson(const routing::config::MatchRuleConfig& rule) {
  using routing::config::MatchRuleConfig;
  nlohmann::json out = nlohmann::json::object();
  const char* source = rule.source == MatchRuleConfig::Source::kHeader   ? "header"
                       : rule.source == MatchRuleConfig::Source::kCookie ? "cookie"
                                                                         : "query";
  out[source] = rule.name;
  switch (rule.op) {
    case MatchRuleConfig::Op::kEquals:
      out["equals"] = rule.value;
      break;
    case MatchRuleConfig::Op::kPrefix:
      out["prefix"] = rule.value;
      break;
    case MatchRuleConfig::Op::kPresent:
      out["present"] = true;
      break;
  }
  out["pool"] = rule.pool;
  return out;
}

// One line per health state change, whoever made it (a check, or the end of a maintenance).
void logHealthTransition(const health::BackendRecord& backend, routing::HealthState from,
                         routing::HealthState to, const std::string& reason) {
  core::logInfo("health_transition", {{"pool", backend.pool},
                                      {"backend", backend.address},
                                      {"from", routing::healthStateName(from)},
                                      {"to", routing::healthStateName(to)},
                                      {"reason", reason}});
}

}  // namespace

routing::config::LoadResult ConfigSource::load() const {
  if (path.empty()) return routing::config::parseConfigText(embedded_text, embedded_name);
  return routing::config::loadConfigFile(path);
}

Server::Server(ConfigSource source) : source_(std::move(source)) {}

Server::~Server() {
  for (auto& worker : workers_) worker->join();
}

bool Server::openListeners(const Config& config, uint32_t workers,
                           std::vector<std::vector<int>>* fds_by_worker) {
  fds_by_worker->assign(workers, {});
  auto fail = [&](const std::string& listener, const std::string& address, int err) {
    core::logError("listen_failed",
                   {{"listener", listener}, {"address", address}, {"error", std::strerror(err)}});
    for (auto& fds : *fds_by_worker) {
      for (int fd : fds) ::close(fd);
      fds.clear();
    }
    return false;
  };
  for (const auto& listener : config.listeners) {
    core::NetAddress address = listener.listen;
    if (address.port() != 0) {
      // SO_REUSEPORT would let us share a port with another process of the same user and
      // silently split its traffic: first make sure nobody listens there.
      const int probe = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      const bool taken = ::bind(probe, address.sockaddr_ptr(), address.length()) != 0;
      const int err = errno;
      ::close(probe);
      if (taken) return fail(listener.name, address.toString(), err);
    }
    for (uint32_t w = 0; w < workers; ++w) {
      const int fd = core::openReusePortSocket(address);
      if (fd < 0) return fail(listener.name, address.toString(), -fd);
      if (::listen(fd, static_cast<int>(listener.backlog)) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(listener.name, address.toString(), err);
      }
      if (address.port() == 0) address = core::socketLocalAddress(fd);  // the others follow
      (*fds_by_worker)[w].push_back(fd);
    }
    listening_addresses_.push_back(address.toString());
  }
  return true;
}

int Server::run() {
  // libuv writes with write(2): a peer that vanished must cost one connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);

  routing::config::LoadResult loaded = source_.load();
  if (!loaded.ok()) {
    core::logError("config_invalid",
                   {{"config", source_.name()}, {"errors", errorsJson(loaded.errors)}});
    return 1;
  }
  config_ = std::make_shared<const Config>(std::move(*loaded.config));
  uint32_t workers = config_->server.workers;
  if (workers == 0) workers = static_cast<uint32_t>(uv_available_parallelism());
  worker_count_ = workers;
  builder_.setWorkerCount(workers);
  traffic_.reconcile(*config_);
  backend_states_.reconcile(*config_);
  if (!config_->server.state_file.empty()) {
    auto saved = routing::TrafficState::readFile(config_->server.state_file);
    if (saved.ok()) {
      if (saved->is_object() && saved->contains("backends")) {
        backend_states_.restoreAdminStates((*saved)["backends"]);
      }
      auto restored = traffic_.restore(*saved, *config_);
      if (restored.ok()) {
        if (!restored->empty()) {
          core::logInfo("state_restored",
                        {{"state_file", config_->server.state_file}, {"routes", *restored}});
        }
      } else {
        core::logWarn("state_file_ignored", {{"state_file", config_->server.state_file},
                                             {"error", restored.status().message()}});
      }
    } else if (saved.status().code() != absl::StatusCode::kNotFound) {
      core::logWarn("state_file_ignored", {{"state_file", config_->server.state_file},
                                           {"error", saved.status().message()}});
    }
  }
  if (absl::Status tls = builder_.loadTls(*config_); !tls.ok()) {
    core::logError("config_invalid",
                   {{"config", source_.name()}, {"errors", {std::string(tls.message())}}});
    return 1;
  }
  snapshot_ = builder_.build(config_, &traffic_, &backend_states_);
  auto token = adminToken(*config_);
  if (!token.ok()) {
    core::logError("config_invalid", {{"config", source_.name()},
                                      {"errors", {std::string(token.status().message())}}});
    return 1;
  }
  admin_api_.setToken(*token);
  auto access_log = accessLogFor(*config_, false);
  if (!access_log.ok()) {
    core::logError("config_invalid", {{"config", source_.name()},
                                      {"errors", {std::string(access_log.status().message())}}});
    return 1;
  }
  access_log_ = *access_log;

  std::vector<std::vector<int>> fds_by_worker;
  if (!openListeners(*config_, workers, &fds_by_worker)) return 1;

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
  uv_timer_init(&loop_, &switch_drain_timer_);
  uv_timer_init(&loop_, &drain_poll_timer_);
  switch_drain_timer_.data = drain_poll_timer_.data = this;
  sighup_.data = sigterm_.data = sigint_.data = sigusr1_.data = shutdown_timer_.data = this;
  uv_signal_start(&sighup_, &Server::onSignal, SIGHUP);
  uv_signal_start(&sigterm_, &Server::onSignal, SIGTERM);
  uv_signal_start(&sigint_, &Server::onSignal, SIGINT);
  uv_signal_start(&sigusr1_, &Server::onSignal, SIGUSR1);
  if (!startAdmin()) {
    for (auto& fds : fds_by_worker) {
      for (int fd : fds) ::close(fd);
    }
    closeControlHandles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return 1;
  }

  for (uint32_t i = 0; i < workers; ++i) {
    Worker::Hooks hooks;
    hooks.started = [this](uint32_t) { dispatcher_.post([this] { onWorkerStarted(); }); };
    hooks.drained = [this](uint32_t) { dispatcher_.post([this] { onWorkerDrained(); }); };
    hooks.stopped = [this](uint32_t) { dispatcher_.post([this] { onWorkerStopped(); }); };
    hooks.outlier = [this](const std::string& pool, const std::string& address) {
      dispatcher_.post([this, pool, address] {
        if (const routing::config::PoolConfig* config = config_->findPool(pool)) {
          if (outliers_ != nullptr)
            outliers_->reportFailures(pool, address, config->outlier_detection);
        }
      });
    };
    workers_.push_back(std::make_unique<Worker>(i, std::move(hooks)));
    rc = workers_.back()->start(std::move(fds_by_worker[i]), snapshot_, access_log_);
    if (rc != 0) {
      core::logError("worker_start_failed", {{"worker", i}, {"error", uv_strerror(rc)}});
      workers_.pop_back();
      exit_code_ = 1;
      beginShutdown("startup failed");
      break;
    }
  }
  startHealth();
  control_metrics_.declareRoutes(routeNames());
  for (size_t i = 0; i < config_->listeners.size(); ++i) {
    core::logInfo("listening",
                  {{"listener", config_->listeners[i].name}, {"address", listening_addresses_[i]}});
  }

  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_) worker->join();
  workers_.clear();
  uv_loop_close(&loop_);
  loop_context_.reset();
  core::logInfo("stopped", {{"exit_code", exit_code_}});
  return exit_code_;
}

void Server::onWorkerStarted() {
  if (++workers_started_ == workers_.size() && !shutting_down_) {
    notifyReady();
    core::logInfo("ready", {{"workers", workers_.size()},
                            {"config", source_.name()},
                            {"generation", snapshot_->generation},
                            {"version", core::versionString()}});
  }
}

void Server::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  if (signum == SIGHUP) {
    // Failures are logged by reloadConfig; a signal has nobody to answer.
    self->reloadConfig("SIGHUP", nullptr).status().IgnoreError();
  } else if (signum == SIGUSR1) {
    // logrotate moved the file away: write to a fresh one with the same name.
    auto reopened = self->accessLogFor(*self->config_, true);
    if (!reopened.ok()) {
      core::logError("access_log_reopen_failed", {{"error", reopened.status().message()}});
      return;
    }
    self->applyAccessLog(*reopened);
    if (self->access_log_.sink != nullptr) {
      core::logInfo("access_log_reopened", {{"path", self->access_log_.sink->path()}});
    }
  } else {
    self->beginShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  }
}

absl::StatusOr<std::string> Server::adminToken(const Config& config) const {
  if (!config.admin.token.empty()) return config.admin.token;
  if (config.admin.token_env.empty()) return std::string();
  const char* value = std::getenv(config.admin.token_env.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("admin.token_env names ", config.admin.token_env,
                     ", which is not set (or empty) in the environment"));
  }
  return std::string(value);
}

absl::StatusOr<AccessLogSettings> Server::accessLogFor(const Config& config,
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

void Server::applyAccessLog(const AccessLogSettings& settings) {
  access_log_ = settings;
  for (auto& worker : workers_) {
    Worker* target = worker.get();
    target->post([target, settings] {
      target->setAccessLog(settings.sink, settings.flush_interval_ms, settings.buffer_bytes);
    });
  }
}

bool Server::startAdmin() {
  admin_server_ =
      std::make_unique<admin::AdminServer>(&loop_, admin_api_, adminLimits(config_->admin));
  const int rc = admin_server_->listen(config_->admin.listen);
  if (rc != 0) {
    core::logError("listen_failed", {{"listener", "admin"},
                                     {"address", config_->admin.listen.toString()},
                                     {"error", uv_strerror(rc)}});
    admin_server_.reset();
    return false;
  }
  core::logInfo("admin_listening", {{"address", admin_server_->address().toString()}});
  return true;
}

absl::StatusOr<uint64_t> Server::reloadConfig(const char* trigger,
                                              std::function<void(uint64_t)> done) {
  auto fail = [&](const nlohmann::json& errors) -> absl::Status {
    control_metrics_.reloaded(false);
    notifyReady();  // refused: the running configuration stays in service
    core::logError("config_reload_failed", {{"trigger", trigger},
                                            {"config", source_.name()},
                                            {"errors", errors},
                                            {"kept_generation", snapshot_->generation}});
    return absl::InvalidArgumentError(errors.dump());
  };
  if (shutting_down_) return absl::UnavailableError("shutting down");
  // The service manager sees the reload begin here and end with READY=1 once every worker runs
  // the new configuration, or at once when it is refused (in `fail`).
  notifyReloading();
  routing::config::LoadResult loaded = source_.load();
  if (!loaded.ok()) return fail(errorsJson(loaded.errors));
  const std::string change = listenerChange(*config_, *loaded.config);
  if (!change.empty()) return fail({change + ": listeners only change with a restart"});
  auto token = adminToken(*loaded.config);
  if (!token.ok()) return fail({std::string(token.status().message())});
  if (loaded.config->server.workers != config_->server.workers) {
    core::logWarn("config_reload_partial",
                  {{"detail", "server.workers takes effect at the next restart"}});
  }
  if (loaded.config->admin.listen_text != config_->admin.listen_text) {
    core::logWarn("config_reload_partial",
                  {{"detail", "admin.listen takes effect at the next restart"}});
  }
  auto access_log = accessLogFor(*loaded.config, false);
  if (!access_log.ok()) return fail({std::string(access_log.status().message())});
  // Certificates are re-read here; a bad one refuses the reload and the running ones stay.
  if (absl::Status tls = builder_.loadTls(*loaded.config); !tls.ok()) {
    return fail({std::string(tls.message())});
  }
  admin_api_.setToken(*token);
  if (admin_server_ != nullptr) admin_server_->setLimits(adminLimits(loaded.config->admin));
  applyAccessLog(*access_log);
  control_metrics_.reloaded(true);
  config_ = std::make_shared<const Config>(std::move(*loaded.config));
  for (const std::string& note : traffic_.reconcile(*config_)) {
    core::logWarn("traffic_state_reset", {{"detail", note}});
  }
  backend_states_.reconcile(*config_);
  if (checker_ != nullptr) checker_->configure(*config_);
  control_metrics_.declareRoutes(routeNames());
  snapshot_ = builder_.build(config_, &traffic_, &backend_states_);
  const uint64_t generation = snapshot_->generation;
  const std::string trigger_name = trigger;
  publish(snapshot_, [this, generation, trigger_name, done = std::move(done)] {
    if (!shutting_down_) notifyReady();  // after STOPPING=1, READY=1 would undo it
    core::logInfo("config_reloaded", {{"trigger", trigger_name}, {"generation", generation}});
    if (done) done(generation);
  });
  saveState();
  return generation;
}

void Server::reload(admin::Responder respond) {
  // The answer comes once every worker runs the new configuration, like every admin change.
  const std::string config_name = source_.name();
  auto result = reloadConfig("admin", [respond, config_name](uint64_t generation) {
    respond(admin::jsonReply(200, {{"generation", generation}, {"config", config_name}}));
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

std::string Server::metrics() const {
  admin::DataPlaneView view;
  view.snapshot = snapshot_.get();
  view.traffic = &traffic_;
  for (const auto& worker : workers_) view.workers.push_back(&worker->stats());
  for (const auto& pool : snapshot_->pools) {
    for (const auto& entry : pool->backends) {
      const health::BackendRecord* record =
          backend_states_.find(pool->name, entry.info->address_text);
      if (record == nullptr) continue;
      admin::BackendState state;
      state.health = routing::healthStateName(record->health);
      // "drained" is the end of draining; a disabled backend stays "disabled".
      state.admin = record->admin == routing::AdminState::kDraining && drained(*record)
                        ? "drained"
                        : routing::adminStateName(record->admin);
      view.backend_states[entry.info->id] = state;
    }
  }
  return control_metrics_.render(view);
}

std::vector<std::string> Server::routeNames() const {
  std::vector<std::string> names;
  for (const auto& route : config_->routes) names.push_back(route.name);
  return names;
}

bool Server::changeTraffic(const absl::Status& status, const admin::Responder& respond) {
  if (status.ok()) return true;
  respond(admin::errorReply(httpStatusOf(status), std::string(status.message())));
  return false;
}

void Server::saveState() {
  if (config_->server.state_file.empty()) return;
  nlohmann::json state = traffic_.toJson();
  state["backends"] = backend_states_.adminStatesJson();
  const absl::Status saved =
      core::writeFileAtomically(config_->server.state_file, state.dump(2) + "\n");
  if (!saved.ok()) {
    core::logError("state_file_write_failed",
                   {{"state_file", config_->server.state_file}, {"error", saved.message()}});
  }
}

void Server::applyTrafficChange(const char* event, const std::string& route, nlohmann::json body,
                                admin::Responder respond) {
  snapshot_ = builder_.build(config_, &traffic_, &backend_states_);
  const uint64_t generation = snapshot_->generation;
  body["route"] = route;
  body["generation"] = generation;
  nlohmann::json log_fields = body;
  publish(snapshot_, [respond = std::move(respond), body = std::move(body)]() mutable {
    respond(admin::jsonReply(200, std::move(body)));
  });
  core::logInfo(event, log_fields);
  saveState();
  scheduleSwitchDrain();
}

void Server::switchPool(const std::string& route, const std::string& pool, bool force,
                        admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!force && config_->findPool(pool) != nullptr && traffic_.find(route) != nullptr &&
      !poolHasHealthyBackend(pool)) {
    return respond(admin::errorReply(
        409,
        absl::StrCat("pool \"", pool,
                     "\" has no healthy backend ready for traffic; add force=1 to switch anyway")));
  }
  const routing::RouteTraffic* before = traffic_.find(route);
  const std::string previous_active = before != nullptr ? before->active : "";
  if (!changeTraffic(traffic_.switchTo(route, pool, *config_), respond)) return;
  const routing::RouteTraffic& now = *traffic_.find(route);
  if (now.active == previous_active && previous_active == pool &&
      before->previous == now.previous) {
    // Already there: nothing to publish.
    respond(admin::jsonReply(200, {{"route", route},
                                   {"previous", now.previous},
                                   {"active", now.active},
                                   {"generation", snapshot_->generation},
                                   {"changed", false}}));
    return;
  }
  control_metrics_.switched(route);
  applyTrafficChange("switch", route,
                     {{"previous", previous_active}, {"active", now.active}, {"changed", true}},
                     std::move(respond));
}

void Server::rollback(const std::string& route, admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!changeTraffic(traffic_.rollback(route), respond)) return;
  const routing::RouteTraffic& now = *traffic_.find(route);
  control_metrics_.rolledBack(route);
  applyTrafficChange("rollback", route, {{"previous", now.previous}, {"active", now.active}},
                     std::move(respond));
}

void Server::setCanary(const std::string& route, const std::string& pool, double weight,
                       admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!changeTraffic(traffic_.setCanary(route, pool, weight, *config_), respond)) return;
  const routing::RouteTraffic& now = *traffic_.find(route);
  control_metrics_.canaryChanged(route);
  applyTrafficChange("canary", route,
                     {{"active", now.active},
                      {"canary_pool", now.canary_pool},
                      {"canary_weight", now.canary_weight}},
                     std::move(respond));
}

void Server::promote(const std::string& route, admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!changeTraffic(traffic_.promote(route), respond)) return;
  const routing::RouteTraffic& now = *traffic_.find(route);
  control_metrics_.promoted(route);
  applyTrafficChange("promote", route, {{"previous", now.previous}, {"active", now.active}},
                     std::move(respond));
}

struct Server::DrainWait {
  std::vector<std::pair<std::string, std::string>> backends;  // pool, address
  absl::Time deadline;
  admin::Responder respond;
  nlohmann::json body;
};

void Server::republish(const char* reason) {
  snapshot_ = builder_.build(config_, &traffic_, &backend_states_);
  const uint64_t generation = snapshot_->generation;
  const std::string why = reason;
  publish(snapshot_, [generation, why] {
    core::logDebug("snapshot_published", {{"generation", generation}, {"reason", why}});
  });
}

Server::BackendLoad Server::loadOf(const std::string& pool, const std::string& address) const {
  BackendLoad load;
  if (snapshot_ == nullptr) return load;
  const int index = snapshot_->poolIndex(pool);
  if (index < 0) return load;
  for (const auto& entry : snapshot_->pools[static_cast<size_t>(index)]->backends) {
    if (entry.info->address_text != address) continue;
    load.in_flight = entry.info->stats->sum(&upstream::BackendWorkerStats::active_requests);
    load.open_connections = entry.info->stats->sum(&upstream::BackendWorkerStats::open_connections);
  }
  return load;
}

bool Server::drained(const health::BackendRecord& record) const {
  if (record.admin == routing::AdminState::kReady) return false;
  const BackendLoad load = loadOf(record.pool, record.address);
  return load.in_flight == 0 && load.open_connections == 0;
}

nlohmann::json Server::backendJson(const health::BackendRecord& record) const {
  const BackendLoad load = loadOf(record.pool, record.address);
  // "drained" is the end of draining; a disabled backend stays "disabled".
  const bool is_drained = record.admin == routing::AdminState::kDraining && drained(record);
  nlohmann::json last_check = nullptr;
  if (record.last_check != absl::InfinitePast()) {
    last_check = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.last_check, absl::UTCTimeZone());
  }
  return {{"address", record.address},
          {"health", routing::healthStateName(record.health)},
          {"admin_state", is_drained ? "drained" : routing::adminStateName(record.admin)},
          {"ejected", record.ejected},
          {"in_flight", load.in_flight},
          {"open_connections", load.open_connections},
          {"last_check", last_check},
          {"last_check_ms", record.last_check_ms},
          {"last_error",
           record.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(record.last_error)},
          {"consecutive_successes", record.counters.successes},
          {"consecutive_failures", record.counters.failures}};
}

bool Server::poolHasHealthyBackend(const std::string& pool) const {
  const int index = snapshot_->poolIndex(pool);
  if (index < 0) return false;
  const upstream::PoolSnapshot& snapshot = *snapshot_->pools[static_cast<size_t>(index)];
  return !snapshot.eligible.empty() && !snapshot.panic;
}

void Server::startHealth() {
  health::HealthChecker::Callbacks callbacks;
  callbacks.on_transition = [this](const health::HealthChecker::Transition& t) {
    logHealthTransition(*t.backend, t.from, t.to, t.reason);
    republish("health");
  };
  callbacks.on_result = [this](const health::BackendRecord& record,
                               const health::ProbeResult& result) {
    control_metrics_.healthChecked(record.pool, record.address, result.passed,
                                   static_cast<double>(result.duration_ns) / 1e9);
  };
  checker_ = std::make_unique<health::HealthChecker>(&loop_, backend_states_, std::move(callbacks));
  checker_->configure(*config_);
  outliers_ = std::make_unique<health::OutlierDetector>(
      &loop_, backend_states_,
      [this](const health::BackendRecord& record, health::OutlierDetector::Event event,
             absl::Duration ejection) {
        switch (event) {
          case health::OutlierDetector::Event::kEjected:
            control_metrics_.ejected(record.pool, record.address);
            core::logWarn("backend_ejected", {{"pool", record.pool},
                                              {"backend", record.address},
                                              {"for_ms", absl::ToInt64Milliseconds(ejection)},
                                              {"ejections", record.ejections}});
            republish("ejection");
            break;
          case health::OutlierDetector::Event::kReturned:
            core::logInfo("backend_returned", {{"pool", record.pool}, {"backend", record.address}});
            republish("ejection ended");
            break;
          case health::OutlierDetector::Event::kSkipped:
            if (std::optional<uint64_t> suppressed = ejection_skipped_log_.admit(
                    absl::StrCat(record.pool, "/", record.address), uv_now(&loop_))) {
              core::logWarn("backend_ejection_skipped",
                            {{"pool", record.pool},
                             {"backend", record.address},
                             {"reason", "max_ejection_percent of the pool is already ejected"},
                             {"suppressed_since_last", *suppressed}});
            }
            break;
        }
      });
}

void Server::scheduleSwitchDrain() {
  const int64_t delay_ms = absl::ToInt64Milliseconds(config_->server.switch_drain_delay);
  uv_timer_start(
      &switch_drain_timer_,
      [](uv_timer_t* timer) { static_cast<Server*>(timer->data)->closeIdleOfUnusedPools(); },
      static_cast<uint64_t>(std::max<int64_t>(0, delay_ms)), 0);
}

void Server::closeIdleOfUnusedPools() {
  // Pools that no route sends traffic to any more (not active, not canary, not in a rule):
  // their keep-alive connections would only idle out.
  std::vector<bool> used(snapshot_->pools.size(), false);
  for (const routing::Route& route : snapshot_->routes.routes()) {
    used[route.pool_index] = true;
    if (route.canary_pool_index >= 0) used[static_cast<size_t>(route.canary_pool_index)] = true;
    for (const routing::MatchRule& rule : route.rules) used[rule.pool_index] = true;
  }
  std::vector<uint64_t> unused_ids;
  for (size_t i = 0; i < used.size(); ++i) {
    if (!used[i]) unused_ids.push_back(snapshot_->pools[i]->id);
  }
  if (unused_ids.empty()) return;
  for (auto& worker : workers_) {
    Worker* target = worker.get();
    target->post([target, unused_ids] { target->closeIdleConnections(unused_ids); });
  }
}

void Server::setBackendAdmin(const std::string& pool, const std::string& address,
                             routing::AdminState state, absl::Duration wait,
                             admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!backend_states_.hasPool(pool)) {
    return respond(admin::errorReply(404, absl::StrCat("unknown pool \"", pool, "\"")));
  }
  std::vector<health::BackendRecord*> targets;
  if (address.empty()) {
    targets = backend_states_.poolBackends(pool);
  } else if (health::BackendRecord* record = backend_states_.find(pool, address)) {
    targets.push_back(record);
  } else {
    std::vector<std::string> known;
    for (const health::BackendRecord* r : backend_states_.poolBackends(pool))
      known.push_back(r->address);
    std::sort(known.begin(), known.end());
    return respond(
        admin::errorReply(404, absl::StrCat("pool \"", pool, "\" has no backend \"", address,
                                            "\" (configured: ", absl::StrJoin(known, ", "), ")")));
  }
  bool changed = false;
  std::vector<const health::BackendRecord*> to_recheck;
  for (health::BackendRecord* record : targets) {
    if (record->admin == state) continue;
    core::logInfo("backend_admin_state", {{"pool", record->pool},
                                          {"backend", record->address},
                                          {"from", routing::adminStateName(record->admin)},
                                          {"to", routing::adminStateName(state)}});
    if (record->admin == routing::AdminState::kDisabled &&
        record->health != routing::HealthState::kUnchecked) {
      // Not checked during the maintenance: what it was before says nothing about it now.
      logHealthTransition(*record, record->health, routing::HealthState::kUnknown,
                          "back from maintenance");
      record->health = routing::HealthState::kUnknown;
      record->counters = {};
      record->awaiting_check = true;
      to_recheck.push_back(record);
    }
    record->admin = state;
    changed = true;
  }
  std::vector<std::pair<std::string, std::string>> keys;
  for (const health::BackendRecord* record : targets)
    keys.emplace_back(record->pool, record->address);
  // By key, not by pointer: a reload may rebuild the table before the answer goes out.
  auto describe = [this, pool, keys] {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [p, a] : keys) {
      if (const health::BackendRecord* record = backend_states_.find(p, a)) {
        list.push_back(backendJson(*record));
      }
    }
    return nlohmann::json{{"pool", pool}, {"backends", list}};
  };
  auto answer = [this, respond, describe, keys, state, wait]() mutable {
    if (state == routing::AdminState::kReady || wait <= absl::ZeroDuration()) {
      nlohmann::json body = describe();
      body["generation"] = snapshot_->generation;
      respond(admin::jsonReply(200, std::move(body)));
      return;
    }
    auto pending = std::make_unique<DrainWait>();
    pending->backends = keys;
    pending->deadline = absl::Now() + wait;
    pending->respond = std::move(respond);
    drain_waits_.push_back(std::move(pending));
    pollDrainWaits();
  };
  if (!changed) {
    answer();
    return;
  }
  backend_states_.touch(pool);
  snapshot_ = builder_.build(config_, &traffic_, &backend_states_);
  saveState();
  for (const health::BackendRecord* record : to_recheck) {
    checker_->checkNow(record->pool, record->address);
  }
  // Answer once every worker stopped sending new requests there.
  publish(snapshot_, std::move(answer));
}

void Server::pollDrainWaits() {
  const absl::Time now = absl::Now();
  for (auto it = drain_waits_.begin(); it != drain_waits_.end();) {
    DrainWait& wait = **it;
    bool all_drained = true;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [pool, address] : wait.backends) {
      const health::BackendRecord* record = backend_states_.find(pool, address);
      if (record == nullptr) continue;  // removed by a reload meanwhile: nothing left to drain
      all_drained = all_drained && drained(*record);
      list.push_back(backendJson(*record));
    }
    if (all_drained || now >= wait.deadline) {
      nlohmann::json body = {{"pool", wait.backends.empty() ? "" : wait.backends.front().first},
                             {"backends", list},
                             {"drained", all_drained}};
      if (all_drained) {
        wait.respond(admin::jsonReply(200, std::move(body)));
      } else {
        admin::Reply reply = admin::errorReply(504, "not drained before the wait ran out");
        reply.body["backends"] = list;
        reply.body["drained"] = false;
        wait.respond(std::move(reply));
      }
      it = drain_waits_.erase(it);
    } else {
      ++it;
    }
  }
  if (drain_waits_.empty()) {
    uv_timer_stop(&drain_poll_timer_);
  } else if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&drain_poll_timer_))) {
    uv_timer_start(
        &drain_poll_timer_,
        [](uv_timer_t* timer) { static_cast<Server*>(timer->data)->pollDrainWaits(); }, 50, 50);
  }
}

void Server::setMirror(const std::string& route, const std::string& pool, double percent,
                       admin::Responder respond) {
  if (shutting_down_) return respond(admin::errorReply(503, "shutting down"));
  if (!changeTraffic(traffic_.setMirror(route, pool, percent, *config_), respond)) return;
  const routing::RouteTraffic& now = *traffic_.find(route);
  control_metrics_.mirrorChanged(route);
  applyTrafficChange("mirror", route,
                     {{"mirror_pool", now.mirror_pool}, {"mirror_percent", now.mirror_percent}},
                     std::move(respond));
}

nlohmann::json Server::status() const {
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& route : config_->routes) {
    const routing::RouteTraffic* t = traffic_.find(route.name);
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& rule : route.rules) rules.push_back(ruleJson(rule));
    nlohmann::json canary = nullptr;
    if (t != nullptr && !t->canary_pool.empty()) {
      canary = {{"pool", t->canary_pool}, {"weight", t->canary_weight}};
    }
    nlohmann::json mirror = nullptr;
    if (t != nullptr && !t->mirror_pool.empty()) {
      mirror = {{"pool", t->mirror_pool}, {"percent", t->mirror_percent}};
    }
    routes.push_back(
        {{"name", route.name},
         {"hosts", route.hosts},
         {"path_prefix", route.path_prefix},
         {"active", t != nullptr ? t->active : route.pool},
         {"previous", t != nullptr && !t->previous.empty() ? nlohmann::json(t->previous)
                                                           : nlohmann::json(nullptr)},
         {"canary", canary},
         {"mirror", mirror},
         {"rules", rules},
         {"sticky", route.sticky ? nlohmann::json(route.sticky->text) : nlohmann::json(nullptr)},
         {"pool_header",
          route.pool_header.empty() ? nlohmann::json(nullptr) : nlohmann::json(route.pool_header)},
         {"retries", route.retries}});
  }
  nlohmann::json pools = nlohmann::json::array();
  for (const auto& pool : snapshot_->pools) {
    nlohmann::json backends = nlohmann::json::array();
    for (const auto& entry : pool->backends) {
      nlohmann::json backend;
      if (const health::BackendRecord* record =
              backend_states_.find(pool->name, entry.info->address_text)) {
        backend = backendJson(*record);
      }
      const upstream::BackendStats& stats = *entry.info->stats;
      backend["weight"] = entry.info->weight;
      backend["eligible"] = entry.eligible;
      backend["idle_connections"] = stats.sum(&upstream::BackendWorkerStats::idle_connections);
      backend["requests"] = stats.sum(&upstream::BackendWorkerStats::requests);
      backends.push_back(std::move(backend));
    }
    const routing::config::PoolConfig* pool_config = config_->findPool(pool->name);
    pools.push_back(
        {{"name", pool->name},
         {"balancer", balancerName(pool->settings.balancer)},
         {"health_check", pool_config != nullptr && pool_config->health_check.has_value()},
         {"panic", pool->panic},
         {"eligible_backends", pool->eligible.size()},
         {"backends", backends}});
  }
  return {{"version", core::versionString()},
          {"commit", core::gitCommit()},
          {"uptime_seconds", absl::ToDoubleSeconds(absl::Now() - started_at_)},
          {"generation", snapshot_->generation},
          {"config", source_.name()},
          {"workers", worker_count_},
          {"ready", ready()},
          {"routes", routes},
          {"pools", pools}};
}

void Server::publish(routing::ConfigSnapshotPtr snapshot, std::function<void()> done) {
  auto remaining = std::make_shared<size_t>(workers_.size());
  auto finished = std::make_shared<std::function<void()>>(std::move(done));
  if (workers_.empty() && *finished) (*finished)();
  for (auto& worker : workers_) {
    Worker* target = worker.get();
    target->post([this, target, snapshot, remaining, finished] {
      target->adopt(snapshot);
      dispatcher_.post([remaining, finished] {
        if (--*remaining == 0 && *finished) (*finished)();
      });
    });
  }
}

void Server::beginShutdown(const char* reason) {
  if (shutting_down_) {
    core::logWarn("shutdown_forced", {{"reason", reason}});
    stopWorkers();
    return;
  }
  shutting_down_ = true;
  notifyStopping();
  const uint64_t timeout_ms =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(config_->server.shutdown_timeout));
  core::logInfo("shutdown_started", {{"reason", reason}, {"timeout_ms", timeout_ms}});
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* timer) {
        auto* self = static_cast<Server*>(timer->data);
        core::logWarn("shutdown_timeout", {{"detail", "closing the connections still open"}});
        self->stopWorkers();
      },
      timeout_ms, 0);
  if (workers_.empty()) {
    stopWorkers();
    return;
  }
  for (auto& worker : workers_) {
    Worker* target = worker.get();
    target->post([target] { target->drain(); });
  }
}

void Server::onWorkerDrained() {
  if (++workers_drained_ == workers_.size()) stopWorkers();
}

void Server::stopWorkers() {
  if (stopping_) return;
  stopping_ = true;
  uv_timer_stop(&shutdown_timer_);
  if (workers_.empty()) {
    closeControlHandles();
    return;
  }
  for (auto& worker : workers_) {
    Worker* target = worker.get();
    target->post([target] { target->stop(); });
  }
}

void Server::onWorkerStopped() {
  if (++workers_stopped_ == workers_.size()) closeControlHandles();
}

void Server::closeControlHandles() {
  if (admin_server_ != nullptr) admin_server_->close();
  if (checker_ != nullptr) checker_->stop();
  if (outliers_ != nullptr) outliers_->stop();
  for (auto& wait : drain_waits_) wait->respond(admin::errorReply(503, "shutting down"));
  drain_waits_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&switch_drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_poll_timer_), nullptr);
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
  dispatcher_.close();
}

}  // namespace sy::proxy
