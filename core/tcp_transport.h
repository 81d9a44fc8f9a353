#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "core/net_address.h"
#include "core/transport.h"

namespace sy::core {

// Transport over a libuv TCP handle.
//
// Writes go straight to the socket with uv_try_write; only the part the kernel refuses is
// copied into an owned buffer and sent with uv_write. While a uv_write is in flight, new bytes
// append to a second buffer, so memory is only held under backpressure and is released as soon
// as the backlog drains.
class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(uv_loop_t* loop);
  ~TcpTransport() override;

  // Accepts a pending connection from `server`. Returns a libuv error code.
  int accept(uv_stream_t* server);
  // Takes over a connected socket accepted elsewhere (non-blocking). On error the socket is
  // closed here.
  int adopt(int fd);
  // Starts connecting; onTransportConnected or onTransportError follows. Writes issued before the
  // connection completes are queued.
  int connect(const NetAddress& address);

  void setCallbacks(TransportCallbacks* callbacks) override { callbacks_ = callbacks; }
  TransportCallbacks* callbacks() const { return callbacks_; }
  uv_loop_t* loop() const { return tcp_.loop; }
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
  uv_tcp_t* handle() { return &tcp_; }

 private:
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* request, int status);
  static void onConnect(uv_connect_t* request, int status);
  static void onShutdown(uv_shutdown_t* request, int status);
  static void onClose(uv_handle_t* handle);

  void startQueuedWrite();
  void maybeShutdown();
  void reportError(int status);

  // Bytes the socket did not take at once, with the uv_write that carries them. Allocated only
  // while such bytes exist (most writes go out whole through uv_try_write), so an idle
  // connection pays one pointer for them, not a request pointer and two strings (72 bytes).
  struct PendingWrites {
    uv_write_t request{};
    std::string in_flight;  // bytes owned by the outstanding uv_write
    std::string queued;     // bytes waiting for it to finish
  };

  uv_tcp_t tcp_{};
  TransportCallbacks* callbacks_ = nullptr;
  std::unique_ptr<PendingWrites> writes_;  // null: every byte written is in the kernel
  bool reading_ = false;
  bool closing_ = false;
  bool shutdown_requested_ = false;
  bool shutdown_started_ = false;
  bool above_high_watermark_ = false;
};

}  // namespace sy::core
