#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/intrusive_list.h"
#include "core/loop_context.h"
#include "proxy/demo/demo_backend_state.h"

namespace sy::proxy {

class DemoConnection;

// One event loop of the backend on its own thread, with its own SO_REUSEPORT listener and the
// connections it accepted.
//
// Lifecycle: init() on the main thread (the loop is not running yet, so no other thread touches
// it), then start(); requestStop() from any thread; join() waits for the loop to finish.
// Stopping closes the listener and idle connections, lets in-flight responses finish for at
// most the shutdown grace, then closes what is left and returns once every handle is closed.
class DemoWorker {
 public:
  DemoWorker(DemoBackendState* state, absl::Duration shutdown_grace);
  ~DemoWorker();
  DemoWorker(const DemoWorker&) = delete;
  DemoWorker& operator=(const DemoWorker&) = delete;

  // Sets up the loop and starts listening on `listen_fd`, a bound socket this worker owns from
  // here on (even on failure).
  absl::Status init(int listen_fd);
  absl::Status start();
  // Any thread, any number of times.
  void requestStop();
  void join();

  // Loop thread only, from here on.
  uv_loop_t* loop() { return &loop_; }
  DemoBackendState& state() { return *state_; }
  core::LoopContext& context() { return *context_; }
  // A per-loop buffer for building responses: reused, so answers allocate nothing once warm.
  std::string& scratch() { return scratch_; }
  bool stopping() const { return stopping_; }
  // Counter-based failure injection: deterministic and without cross-thread traffic.
  bool nextRequestFails();
  // The same for --reset-rate, with its own counter.
  bool nextRequestResets();

  void remove(DemoConnection* connection);

 private:
  static void runThread(void* arg);
  static void onConnection(uv_stream_t* server, int status);
  static void onStopRequested(uv_async_t* async);
  static void onGraceExpired(uv_timer_t* timer);

  void beginStop();
  void maybeFinishStop();
  void closeAllHandles();

  DemoBackendState* state_;
  const uint64_t grace_ms_;
  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> context_;
  uv_tcp_t listener_{};
  uv_async_t stop_async_{};
  uv_timer_t grace_timer_{};
  uv_thread_t thread_{};
  std::string scratch_;
  core::IntrusiveList<DemoConnection> connections_;
  uint64_t requests_ = 0;
  uint64_t reset_requests_ = 0;
  bool loop_ready_ = false;
  bool handles_ready_ = false;
  bool thread_started_ = false;
  bool stopping_ = false;
  bool finished_ = false;
};

}  // namespace sy::proxy
