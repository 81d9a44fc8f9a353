#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/dispatcher.h"
#include "proxy/core/loop_context.h"
#include "proxy/worker.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"

namespace sy::proxy {

// Where the configuration comes from: a file, or the text embedded in the binary.
struct ConfigSource {
  std::string path;           // empty: use `embedded_text`
  std::string embedded_name;  // shown in messages for the embedded text
  std::string embedded_text;

  routing::config::LoadResult load() const;
  std::string name() const { return path.empty() ? embedded_name : path; }
};

// The control thread: owns the configuration, builds snapshots and publishes them to every
// worker, handles signals (SIGHUP reload, SIGTERM/SIGINT graceful shutdown) and, later, the
// admin API and health checks. Never on the request path.
class Server {
 public:
  explicit Server(ConfigSource source);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until shutdown. Returns the process exit code.
  int run();

 private:
  bool openListeners(const routing::config::Config& config, uint32_t workers,
                     std::vector<std::vector<int>>* fds_by_worker);
  void reload(const char* trigger);
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
  uv_timer_t shutdown_timer_{};
  std::shared_ptr<const routing::config::Config> config_;
  routing::SnapshotBuilder builder_;
  routing::ConfigSnapshotPtr snapshot_;
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
