#pragma once

#include <uv.h>

#include <cstdint>

namespace sy::proxy {

class Worker;

// One worker's accept socket for one configured listener (the kernel spreads connections over
// the workers' SO_REUSEPORT sockets).
class Listener {
 public:
  Listener(Worker& worker, uint32_t index) : worker_(worker), index_(index) {}
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Takes ownership of a bound socket and starts accepting. Returns a libuv error code.
  int open(int fd, int backlog);
  // Stops accepting. Connections already accepted are not affected.
  void close();

 private:
  static void onConnection(uv_stream_t* server, int status);

  Worker& worker_;
  const uint32_t index_;
  uv_tcp_t* tcp_ = nullptr;  // freed by its close callback
};

}  // namespace sy::proxy
