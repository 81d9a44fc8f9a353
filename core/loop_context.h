#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/net_address.h"
#include "core/uv_handle.h"
#include "core/write_batch.h"

namespace sy::core {

// Per-loop state shared by every connection on that loop. Stored in uv_loop_t::data.
//
// The read buffer is the reason an idle connection holds no read memory: a transport reads into
// it only once its socket is readable and its data callback consumes the bytes synchronously,
// so one buffer per loop serves every socket of that loop. Consumers that must keep bytes beyond
// the callback copy them.
class LoopContext {
 public:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  explicit LoopContext(uv_loop_t* loop);
  ~LoopContext();
  LoopContext(const LoopContext&) = delete;
  LoopContext& operator=(const LoopContext&) = delete;

  static LoopContext* of(uv_loop_t* loop) { return static_cast<LoopContext*>(loop->data); }
  static LoopContext* of(const uv_handle_t* handle) { return of(handle->loop); }

  uv_loop_t* loop() const { return loop_; }
  char* readBuffer() { return read_buffer_.get(); }
  WriteBatch& writeBatch() { return write_batch_; }

  // A check handle that flushes the write batch after every loop iteration's I/O, for writes
  // made outside read callbacks (timers, connects, posted tasks). Loop thread only.
  int startFlushing();
  void stopFlushing();

  // An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") refreshed at most once per second.
  const std::string& httpDate();

 private:
  uv_loop_t* loop_;
  std::unique_ptr<char[]> read_buffer_;
  std::string http_date_;
  uint64_t http_date_second_ = 0;
  WriteBatch write_batch_;
  UvHandle<uv_check_t> flush_check_;
  UvHandle<uv_prepare_t> flush_prepare_;
};

// Creates a TCP socket bound to `address` with SO_REUSEADDR and SO_REUSEPORT set, so that every
// worker can own a listener on the same port (libuv 1.44 has no UV_TCP_REUSEPORT). Returns the
// fd or a negative errno.
int openReusePortSocket(const NetAddress& address);

// Reads the local address a socket is bound to (to learn the port picked for port 0).
NetAddress socketLocalAddress(int fd);

}  // namespace sy::core
