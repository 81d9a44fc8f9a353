#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proxy/inherited_sockets.h"

namespace sy::proxy::control {

// The running process's side of a hot binary upgrade (SIGUSR2, POST /admin/upgrade): starts the
// new binary with the same arguments, environment and working directory, hands it the listening
// sockets and the runtime state over the upgrade channel (proxy/control/upgrade_channel.h), and
// waits until it reports ready, fails, exits or times out. It changes nothing in this process:
// the caller stops accepting and drains once the new one is ready. Control thread only.
class Upgrader {
 public:
  struct Socket {
    InheritedSockets::Kind kind;
    std::string name;
    int fd;  // still this process's: the new one gets a copy
  };
  // The new process's pid once it is ready, or why it is not.
  using Done = std::function<void(absl::StatusOr<int> pid)>;

  // How long the new process may take from its start to ready.
  static constexpr uint64_t kReadyTimeoutMs = 60000;

  Upgrader() = default;
  ~Upgrader();
  Upgrader(const Upgrader&) = delete;
  Upgrader& operator=(const Upgrader&) = delete;

  // `binary` empty: the file this process runs from (/proc/self/exe, also once replaced on
  // disk). `done` runs exactly once, on the loop, unless close() comes first.
  void start(uv_loop_t* loop, std::string binary, const std::vector<Socket>& sockets,
             const nlohmann::json& state, Done done);
  bool running() const { return done_ != nullptr; }
  const std::string& binary() const { return binary_; }
  // Closes the handles; a new process still starting is told to stop (SIGTERM).
  void close();

 private:
  absl::Status spawn(uv_loop_t* loop);
  void finish(absl::StatusOr<int> result);
  void handoffFailed(std::string error);
  void closeHandles();

  static void onExit(uv_process_t* process, int64_t exit_status, int term_signal);
  static void onReadable(uv_poll_t* poll, int status, int events);

  std::string binary_;
  Done done_;
  int channel_ = -1;
  int child_channel_ = -1;
  uv_process_t* process_ = nullptr;
  bool exited_ = false;
  std::string handoff_error_;  // a send that failed: reported once the new process exited  //
                               // onExit came (the handle may be closed)
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
};

}  // namespace sy::proxy::control
