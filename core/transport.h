#pragma once

#include <uv.h>

#include <cstddef>

namespace sy::core {

// Events a transport reports to its owner. All run on the transport's loop thread.
class TransportCallbacks {
 public:
  // Bytes arrived. `data` is only valid during the call (it points into the loop's shared read
  // buffer); keep a copy of whatever must outlive it.
  virtual void onTransportData(const char* data, size_t length) = 0;
  // The peer closed its sending side.
  virtual void onTransportEof() = 0;
  // A read, write or connect error (a libuv error code). The owner decides whether to close.
  virtual void onTransportError(int uv_status) = 0;
  // An outgoing connection completed (only for transports that connect).
  virtual void onTransportConnected() {}
  // The write backlog fell to the low watermark after having passed the high one.
  virtual void onTransportWritable() {}
  // close() finished; the transport may be destroyed now (and not before).
  virtual void onTransportClosed() = 0;

 protected:
  ~TransportCallbacks() = default;
};

// The byte stream under the HTTP codec. Plain TCP today; TLS (OpenSSL over memory BIOs) wraps a
// TCP transport and presents the same interface, so neither the codec nor the forwarding logic
// knows which one it talks to.
class Transport {
 public:
  // Above this many unsent bytes the owner should stop reading from whatever feeds this transport
  // and wait for onTransportWritable().
  static constexpr size_t kHighWatermark = 256 * 1024;
  static constexpr size_t kLowWatermark = 64 * 1024;

  virtual ~Transport() = default;

  virtual void setCallbacks(TransportCallbacks* callbacks) = 0;
  virtual int startReading() = 0;
  virtual void stopReading() = 0;
  virtual bool isReading() const = 0;

  // Queues bytes in order. What the kernel does not take at once is copied, so the caller's
  // buffers may be reused as soon as this returns. Errors arrive later via onTransportError.
  virtual void write(const uv_buf_t* buffers, size_t count) = 0;
  void write(const char* data, size_t length) {
    uv_buf_t buffer = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
    write(&buffer, 1);
  }
  virtual size_t pendingWriteBytes() const = 0;
  bool aboveHighWatermark() const { return pendingWriteBytes() > kHighWatermark; }

  // Sends FIN once everything queued is written.
  virtual void shutdownWrite() = 0;
  // Closes now; queued bytes that were not written yet are dropped. Idempotent.
  virtual void close() = 0;
  // Closes at the end of a complete exchange. A TLS transport first sends close_notify: the
  // peer can then tell a clean end from a truncation (RFC 8446 6.1), and OpenSSL-based clients
  // keep the session for resumption (they drop it on an EOF without one). Otherwise close().
  virtual void closeCleanly() { close(); }
  // Closes with a TCP RST instead of FIN (aborted exchanges). Idempotent.
  virtual void abort() = 0;
  virtual bool isClosing() const = 0;
};

}  // namespace sy::core
