#pragma once

#include <uv.h>

#include <cstdint>

#include "core/log_throttle.h"
#include "core/uv_handle.h"

namespace sy::proxy {

class Worker;

// One worker's accept socket for one configured listener (the kernel spreads connections over
// the workers' SO_REUSEPORT sockets).
//
// The accept loop is our own (a poll handle on the listening socket and accept4()) rather than
// uv_listen's: libuv answers EMFILE by silently accepting and closing every waiting connection
// with a reserved descriptor, so running out of file descriptors would be invisible. Here it is
// counted, logged, and answered as nginx does: accepting pauses briefly and the waiting clients
// stay queued in the backlog until descriptors free up.
class Listener {
 public:
  // `id`: the listener's routing::ListenerSettings::id.
  Listener(Worker& worker, uint32_t id) : worker_(worker), id_(id) {}
  ~Listener();
  uint32_t id() const { return id_; }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Takes ownership of a listening socket (the server binds and listens: a port taken shows
  // before any worker starts) and starts accepting. Returns a libuv error code.
  int open(int fd);
  // Stops accepting. Connections already accepted are not affected.
  void close();

 private:
  // Bounds one wakeup's accepts so a connection flood cannot starve the loop's other work.
  static constexpr int kMaxAcceptsPerWakeup = 64;
  static constexpr uint64_t kPauseAfterFdLimitMs = 100;

  static void onReadable(uv_poll_t* poll, int status, int events);
  void acceptPending();
  // Counts a failed accept and logs it, at most once a second per cause: when descriptors run
  // out, every new connection fails the same way.
  void acceptFailed(int uv_status);
  void pauseAccepting();

  Worker& worker_;
  const uint32_t id_;
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;          // freed (and fd_ closed) by its close callback
  core::UvHandle<uv_timer_t> resume_;  // restarts accepting after a pause
  core::LogThrottle accept_failed_log_;
};

}  // namespace sy::proxy
