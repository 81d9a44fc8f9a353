#pragma once

#include <uv.h>

#include <cstddef>

#include "core/transport.h"

namespace sy::core {

// Gathers the writes one callback makes to a transport and hands them over as one writev.
// A proxied small response is a head plus a body (plus chunk framing): without batching that is
// two to four write syscalls per request, with it one.
//
// add() keeps a reference: the bytes must stay valid until the next flush(). The loop flushes
// at the end of every read callback (TcpTransport does it), which is exactly as long as bytes
// in the shared read buffer live. Anything that is not stable that long goes through addCopy().
// Switching to another transport flushes the previous one first, so per-transport order holds.
class WriteBatch {
 public:
  void add(Transport* transport, const char* data, size_t length);
  void addCopy(Transport* transport, const char* data, size_t length);
  void flush();
  bool empty() const { return count_ == 0; }
  // Bytes added for `transport` and not flushed yet (for backpressure checks).
  size_t pendingFor(const Transport* transport) const { return transport == target_ ? bytes_ : 0; }
  // A transport that closes must not be flushed to later.
  void forget(const Transport* transport);

 private:
  static constexpr size_t kMaxBuffers = 16;
  static constexpr size_t kScratchBytes = 2048;

  Transport* target_ = nullptr;
  uv_buf_t buffers_[kMaxBuffers];
  size_t count_ = 0;
  size_t bytes_ = 0;
  char scratch_[kScratchBytes];
  size_t scratch_used_ = 0;
};

}  // namespace sy::core
