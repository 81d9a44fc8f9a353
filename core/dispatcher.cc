#include "core/dispatcher.h"

#include "core/log.h"

namespace sy::core {

int Dispatcher::init(uv_loop_t* loop) {
  const int rc = uv_async_init(loop, &async_, &Dispatcher::onAsync);
  if (rc != 0) return rc;
  async_.data = this;
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = true;
  return 0;
}

void Dispatcher::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
  }
  runQueued();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

bool Dispatcher::post(Task task) {
  // The wake-up is sent under the lock so that close() cannot free the handle in between.
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return false;
  const bool wake = queue_.empty();
  queue_.push_back(std::move(task));
  if (wake) {
    const int rc = uv_async_send(&async_);
    if (rc != 0) logError("uv_async_send_failed", {{"error", uv_strerror(rc)}});
  }
  return true;
}

void Dispatcher::onAsync(uv_async_t* handle) {
  static_cast<Dispatcher*>(handle->data)->runQueued();
}

void Dispatcher::runQueued() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(queue_);
  }
  for (Task& task : tasks) task();
}

}  // namespace sy::core
