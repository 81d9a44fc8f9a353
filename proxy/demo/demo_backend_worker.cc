#include "proxy/demo/demo_backend_worker.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/strings.h"
#include "proxy/demo/demo_backend_connection.h"

namespace sy::proxy {
namespace {

constexpr int kBacklog = 511;

uv_handle_t* asHandle(void* handle) { return static_cast<uv_handle_t*>(handle); }

absl::Status uvError(std::string_view what, int rc) {
  return absl::UnavailableError(absl::StrCat(core::toAbsl(what), ": ", uv_strerror(rc)));
}

}  // namespace

DemoWorker::DemoWorker(DemoBackendState* state, absl::Duration shutdown_grace)
    : state_(state), grace_ms_(static_cast<uint64_t>(absl::ToInt64Milliseconds(shutdown_grace))) {}

DemoWorker::~DemoWorker() {
  if (thread_started_) join();
  if (!loop_ready_) return;
  if (!finished_) {
    // init() failed half-way or the loop never ran: close what was opened, then let libuv run
    // the close callbacks.
    closeAllHandles();
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  const int rc = uv_loop_close(&loop_);
  if (rc != 0) core::logError("backend_loop_close_failed", {{"error", uv_strerror(rc)}});
  context_.reset();
}

absl::Status DemoWorker::init(int listen_fd) {
  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    ::close(listen_fd);
    return uvError("uv_loop_init", rc);
  }
  loop_ready_ = true;
  context_ = std::make_unique<core::LoopContext>(&loop_);

  // These inits only fill structures; their results are still checked.
  if ((rc = uv_tcp_init(&loop_, &listener_)) != 0) {
    ::close(listen_fd);
    return uvError("uv_tcp_init", rc);
  }
  listener_.data = this;
  if ((rc = uv_async_init(&loop_, &stop_async_, &DemoWorker::onStopRequested)) != 0) {
    uv_close(asHandle(&listener_), nullptr);
    ::close(listen_fd);
    return uvError("uv_async_init", rc);
  }
  stop_async_.data = this;
  if ((rc = uv_timer_init(&loop_, &grace_timer_)) != 0) {
    uv_close(asHandle(&listener_), nullptr);
    uv_close(asHandle(&stop_async_), nullptr);
    ::close(listen_fd);
    return uvError("uv_timer_init", rc);
  }
  grace_timer_.data = this;
  handles_ready_ = true;

  if ((rc = uv_tcp_open(&listener_, listen_fd)) != 0) {
    ::close(listen_fd);
    return uvError("uv_tcp_open", rc);
  }
  // With SO_REUSEPORT a taken port surfaces here, not at bind time.
  if ((rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kBacklog,
                      &DemoWorker::onConnection)) != 0) {
    return uvError("listen", rc);
  }
  return absl::OkStatus();
}

absl::Status DemoWorker::start() {
  const int rc = uv_thread_create(&thread_, &DemoWorker::runThread, this);
  if (rc != 0) return uvError("uv_thread_create", rc);
  thread_started_ = true;
  return absl::OkStatus();
}

void DemoWorker::requestStop() {
  // uv_async_send is the one libuv call that is safe from any thread.
  if (handles_ready_) uv_async_send(&stop_async_);
}

void DemoWorker::join() {
  if (!thread_started_) return;
  uv_thread_join(&thread_);
  thread_started_ = false;
}

void DemoWorker::runThread(void* arg) {
  auto* self = static_cast<DemoWorker*>(arg);
  const int rc = uv_run(&self->loop_, UV_RUN_DEFAULT);
  (void)rc;  // non-zero only when uv_stop() was called, which this code never does
  self->finished_ = true;
}

bool DemoWorker::nextRequestFails() {
  const DemoBackendState::FailPolicy policy = state_->failPolicy();
  if (policy.rate_ppm == 0) return false;
  // Request n fails when floor((n+1)·rate) > floor(n·rate): exactly `rate` of any run of
  // requests, spread evenly (rate 0.25 fails requests 4, 8, 12...).
  const uint64_t n = requests_++;
  return (n + 1) * policy.rate_ppm / 1000000 != n * policy.rate_ppm / 1000000;
}

bool DemoWorker::nextRequestResets() {
  const uint64_t rate_ppm = state_->resetRatePpm();
  if (rate_ppm == 0) return false;
  const uint64_t n = reset_requests_++;
  return (n + 1) * rate_ppm / 1000000 != n * rate_ppm / 1000000;
}

void DemoWorker::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<DemoWorker*>(server->data);
  if (status < 0) {
    // EMFILE and friends: the pending connection stays in the backlog; nothing to clean up.
    core::logWarn("backend_accept_failed", {{"error", uv_strerror(status)}});
    return;
  }
  if (self->stopping_) return;
  auto* connection = new DemoConnection(self);
  self->connections_.pushFront(connection);
  connection->start(server);
}

void DemoWorker::remove(DemoConnection* connection) {
  connections_.remove(connection);
  if (stopping_) maybeFinishStop();
}

void DemoWorker::onStopRequested(uv_async_t* async) {
  static_cast<DemoWorker*>(async->data)->beginStop();
}

void DemoWorker::beginStop() {
  if (stopping_) return;
  stopping_ = true;
  uv_close(asHandle(&listener_), nullptr);
  // drain() may close (and so later unlink) connections; forEach allows that.
  connections_.forEach([](DemoConnection* connection) { connection->drain(); });
  if (!connections_.empty()) {
    uv_timer_start(&grace_timer_, &DemoWorker::onGraceExpired, grace_ms_, 0);
  }
  maybeFinishStop();
}

void DemoWorker::onGraceExpired(uv_timer_t* timer) {
  auto* self = static_cast<DemoWorker*>(timer->data);
  self->connections_.forEach([](DemoConnection* connection) { connection->forceClose(); });
}

// Connections unlink themselves only once their handle is closed, so an empty list means no
// connection handle is left; the loop then ends when these last two handles are closed.
void DemoWorker::maybeFinishStop() {
  if (!connections_.empty() || uv_is_closing(asHandle(&stop_async_))) return;
  uv_close(asHandle(&grace_timer_), nullptr);
  uv_close(asHandle(&stop_async_), nullptr);
}

void DemoWorker::closeAllHandles() {
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
}

}  // namespace sy::proxy
