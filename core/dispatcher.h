#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace sy::core {

// The only way to run code on another thread's loop: post() a closure from any thread; it runs
// on the loop that owns the dispatcher. A locked vector plus one uv_async_t, woken only when
// the queue goes from empty to non-empty (uv_async_send coalesces anyway).
//
// Closures must capture values or weak references, never a pointer to an object the posting
// thread may destroy before the closure runs.
class Dispatcher {
 public:
  using Task = std::function<void()>;

  Dispatcher() = default;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Loop thread only. Returns a libuv error code.
  int init(uv_loop_t* loop);
  // Loop thread only. Runs the tasks still queued, then closes the async handle; the dispatcher
  // must outlive the loop run that processes the close.
  void close();

  // Any thread. Returns false when the dispatcher is closed (the task is dropped).
  bool post(Task task);

 private:
  static void onAsync(uv_async_t* handle);
  void runQueued();

  uv_async_t async_{};
  // std::mutex, not absl::Mutex: ThreadSanitizer sees pthread locks, while Debian's absl is built
  // without TSan annotations and its Mutex looked like no lock at all (false races on queue_).
  std::mutex mutex_;
  std::vector<Task> queue_ ABSL_GUARDED_BY(mutex_);
  bool open_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace sy::core
