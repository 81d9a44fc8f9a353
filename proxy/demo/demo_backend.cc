#include "proxy/demo/demo_backend.h"

#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/loop_context.h"
#include "core/strings.h"
#include "proxy/demo/demo_backend_options.h"
#include "proxy/demo/demo_backend_state.h"
#include "proxy/demo/demo_backend_worker.h"

namespace sy::proxy {
namespace {

// The main thread only waits for SIGINT/SIGTERM on its own loop and tells the workers to stop.
class SignalWaiter {
 public:
  explicit SignalWaiter(std::vector<std::unique_ptr<DemoWorker>>* workers) : workers_(workers) {}

  absl::Status init() {
    int rc = uv_loop_init(&loop_);
    if (rc != 0) return absl::UnavailableError(absl::StrCat("uv_loop_init: ", uv_strerror(rc)));
    loop_ready_ = true;
    for (int i = 0; i < 2; ++i) {
      if ((rc = uv_signal_init(&loop_, &signals_[i])) != 0) {
        return absl::UnavailableError(absl::StrCat("uv_signal_init: ", uv_strerror(rc)));
      }
      signals_[i].data = this;
      if ((rc = uv_signal_start(&signals_[i], &SignalWaiter::onSignal, kSignals[i])) != 0) {
        return absl::UnavailableError(absl::StrCat("uv_signal_start: ", uv_strerror(rc)));
      }
    }
    return absl::OkStatus();
  }

  // Returns once a signal arrived (and the signal handles are closed).
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }

  ~SignalWaiter() {
    if (!loop_ready_) return;
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
          if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    const int rc = uv_loop_close(&loop_);
    if (rc != 0) core::logError("backend_loop_close_failed", {{"error", uv_strerror(rc)}});
  }

 private:
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};

  static void onSignal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<SignalWaiter*>(handle->data);
    core::logInfo("backend_stopping", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
    // Closing the handles restores the default action: a second signal kills at once.
    for (uv_signal_t& signal : self->signals_) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&signal))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&signal), nullptr);
      }
    }
    for (auto& worker : *self->workers_) worker->requestStop();
  }

  std::vector<std::unique_ptr<DemoWorker>>* workers_;
  uv_loop_t loop_{};
  uv_signal_t signals_[2]{};
  bool loop_ready_ = false;
};

int failStart(const absl::Status& status, const DemoBackendOptions& options) {
  core::logError("backend_start_failed", {{"name", options.name},
                                          {"address", options.listen.toString()},
                                          {"error", std::string(status.message())}});
  return 1;
}

}  // namespace

int runDemoBackend(int argc, char** argv) {
  const std::vector<std::string_view> args(argv, argv + argc);
  absl::StatusOr<DemoBackendOptions> parsed = parseDemoBackendArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "switchyard backend: %s\nRun 'switchyard backend --help' for usage.\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  const DemoBackendOptions& options = *parsed;
  if (options.help) {
    const std::string_view help = demoBackendHelp();
    std::fwrite(help.data(), 1, help.size(), stdout);
    return 0;
  }
  // A peer that vanishes mid-write must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);

  DemoBackendState state(options);
  std::vector<std::unique_ptr<DemoWorker>> workers;
  core::NetAddress address = options.listen;
  for (int i = 0; i < options.threads; ++i) {
    const int fd = core::openReusePortSocket(address);
    if (fd < 0) {
      return failStart(absl::UnavailableError(absl::StrCat("bind: ", uv_strerror(fd))), options);
    }
    if (i == 0) {
      // Port 0: the first socket picks the port, the others join it.
      address = core::socketLocalAddress(fd);
    }
    workers.push_back(std::make_unique<DemoWorker>(&state, options.shutdown_grace));
    if (absl::Status status = workers.back()->init(fd); !status.ok()) {
      return failStart(status, options);
    }
  }

  // Declared after the workers, so destroyed before them.
  SignalWaiter waiter(&workers);
  if (absl::Status status = waiter.init(); !status.ok()) return failStart(status, options);
  for (auto& worker : workers) {
    if (absl::Status status = worker->start(); !status.ok()) {
      for (auto& started : workers) started->requestStop();
      return failStart(status, options);
    }
  }
  core::logInfo("backend_listening", {{"name", options.name}, {"address", address.toString()}});

  waiter.run();
  for (auto& worker : workers) worker->join();
  core::logInfo("backend_stopped", {{"name", options.name}});
  return 0;
}

}  // namespace sy::proxy
