#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/net_address.h"
#include "core/transport.h"

namespace sy::core {

// Transport over a TCP socket watched by a libuv poll handle.
//
// A uv_poll_t is 160 bytes where a uv_tcp_t is 248, and every idle client connection holds one
// (bench/RESULTS.md, "Idle memory"). libuv's stream machinery (its write queue, connect and
// shutdown requests) is not needed: reads go into the loop's shared read buffer, writes go
// straight to the socket with sendmsg, and only the part the kernel refuses is copied into an
// owned buffer and sent when the socket is writable again, so memory is only held under
// backpressure and is released as soon as the backlog drains. As with libuv, errors of writes
// and connects are reported from the loop, never from inside the call that met them.
class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(uv_loop_t* loop);
  ~TcpTransport() override;

  // Accepts a pending connection from `server` (a libuv TCP listener: the admin API, the demo
  // backend). Returns a libuv error code.
  int accept(uv_stream_t* server);
  // Takes over a connected non-blocking socket accepted elsewhere. On error the socket is closed
  // here.
  int adopt(int fd);
  // Starts connecting; onTransportConnected or onTransportError follows. Writes issued before the
  // connection completes are queued.
  int connect(const NetAddress& address);

  void setCallbacks(TransportCallbacks* callbacks) override { callbacks_ = callbacks; }
  TransportCallbacks* callbacks() const { return callbacks_; }
  uv_loop_t* loop() const { return poll_.loop; }
  int startReading() override;
  void stopReading() override;
  bool isReading() const override { return reading_; }
  void write(const uv_buf_t* buffers, size_t count) override;
  using Transport::write;
  // Includes bytes still waiting in the loop's write batch.
  size_t pendingWriteBytes() const override;
  void shutdownWrite() override;
  void close() override;
  void abort() override;
  bool isClosing() const override { return closing_; }

  NetAddress peerAddress() const;

 private:
  static void onPoll(uv_poll_t* poll, int status, int events);
  static void onClose(uv_handle_t* handle);

  // Starts owning `fd` (the poll handle can only be initialised on a socket).
  int open(int fd);
  // libuv keeps the descriptor in the watcher; uv_fileno would only add a type switch.
  int fd() const { return poll_.io_watcher.fd; }
  // Watches for what is wanted now: readable while reading, writable while bytes wait, a
  // connect is in progress or an error waits to be reported.
  void updatePolling();
  void readReady();
  void writeReady();
  void connectReady();
  // Reports `uv_status` from the next poll callback (an errored socket polls writable).
  void failLater(int uv_status);
  void maybeShutdown();
  void reportError(int status);
  void queueUnsent(const uv_buf_t* buffers, size_t count, size_t skip);

  // Bytes the socket did not take at once. Allocated only while such bytes exist (most writes
  // go out whole), so an idle connection pays one pointer for them.
  struct PendingWrites {
    std::string bytes;
    size_t offset = 0;  // bytes of `bytes` already written
    int error = 0;      // a write or connect error, reported from the next poll callback
  };

  uv_poll_t poll_{};  // carries the loop from construction; initialised once there is a socket
  TransportCallbacks* callbacks_ = nullptr;
  std::unique_ptr<PendingWrites> writes_;  // null: every byte written is in the kernel
  // Bit-fields: with them the transport is 192 bytes, not 200 (the connection's malloc chunk).
  bool open_ : 1 = false;  // poll_ is initialised on a socket
  bool reading_ : 1 = false;
  bool closing_ : 1 = false;
  bool connecting_ : 1 = false;
  bool shutdown_requested_ : 1 = false;
  bool shutdown_started_ : 1 = false;
  bool above_high_watermark_ : 1 = false;
  uint8_t polled_events_ = 0;  // what poll_ watches now (UV_READABLE | UV_WRITABLE)
};

}  // namespace sy::core
