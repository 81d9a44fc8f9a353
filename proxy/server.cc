#include "proxy/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "proxy/core/log.h"

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
  snapshot_ = builder_.build(config_);

  uint32_t workers = config_->server.workers;
  if (workers == 0) workers = static_cast<uint32_t>(uv_available_parallelism());
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
  uv_timer_init(&loop_, &shutdown_timer_);
  sighup_.data = sigterm_.data = sigint_.data = shutdown_timer_.data = this;
  uv_signal_start(&sighup_, &Server::onSignal, SIGHUP);
  uv_signal_start(&sigterm_, &Server::onSignal, SIGTERM);
  uv_signal_start(&sigint_, &Server::onSignal, SIGINT);

  for (uint32_t i = 0; i < workers; ++i) {
    Worker::Hooks hooks;
    hooks.started = [this](uint32_t) { dispatcher_.post([this] { onWorkerStarted(); }); };
    hooks.drained = [this](uint32_t) { dispatcher_.post([this] { onWorkerDrained(); }); };
    hooks.stopped = [this](uint32_t) { dispatcher_.post([this] { onWorkerStopped(); }); };
    workers_.push_back(std::make_unique<Worker>(i, std::move(hooks)));
    rc = workers_.back()->start(std::move(fds_by_worker[i]), snapshot_);
    if (rc != 0) {
      core::logError("worker_start_failed", {{"worker", i}, {"error", uv_strerror(rc)}});
      workers_.pop_back();
      exit_code_ = 1;
      beginShutdown("startup failed");
      break;
    }
  }
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
    core::logInfo("ready", {{"workers", workers_.size()},
                            {"config", source_.name()},
                            {"generation", snapshot_->generation},
                            {"version", SY_VERSION}});
  }
}

void Server::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  if (signum == SIGHUP) {
    self->reload("SIGHUP");
  } else {
    self->beginShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  }
}

void Server::reload(const char* trigger) {
  if (shutting_down_) return;
  routing::config::LoadResult loaded = source_.load();
  if (!loaded.ok()) {
    core::logError("config_reload_failed", {{"trigger", trigger},
                                            {"config", source_.name()},
                                            {"errors", errorsJson(loaded.errors)},
                                            {"kept_generation", snapshot_->generation}});
    return;
  }
  const std::string change = listenerChange(*config_, *loaded.config);
  if (!change.empty()) {
    core::logError("config_reload_failed",
                   {{"trigger", trigger},
                    {"config", source_.name()},
                    {"errors", {change + ": listeners only change with a restart"}},
                    {"kept_generation", snapshot_->generation}});
    return;
  }
  if (loaded.config->server.workers != config_->server.workers) {
    core::logWarn("config_reload_partial",
                  {{"detail", "server.workers takes effect at the next restart"}});
  }
  config_ = std::make_shared<const Config>(std::move(*loaded.config));
  snapshot_ = builder_.build(config_);
  const uint64_t generation = snapshot_->generation;
  const std::string trigger_name = trigger;
  publish(snapshot_, [generation, trigger_name] {
    core::logInfo("config_reloaded", {{"trigger", trigger_name}, {"generation", generation}});
  });
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
  uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_timer_), nullptr);
  dispatcher_.close();
}

}  // namespace sy::proxy
