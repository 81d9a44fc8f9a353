#include "core/write_batch.h"

#include <cstring>

namespace sy::core {

void WriteBatch::add(Transport* transport, const char* data, size_t length) {
  if (length == 0) return;
  // Only flush when there is something to flush: flushing rewinds the scratch area, which
  // addCopy() may have just written into.
  if ((target_ != nullptr && transport != target_) || count_ == kMaxBuffers) flush();
  target_ = transport;
  buffers_[count_++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
  bytes_ += length;
}

void WriteBatch::addCopy(Transport* transport, const char* data, size_t length) {
  if (length == 0) return;
  if (transport != target_ || count_ == kMaxBuffers || scratch_used_ + length > kScratchBytes) {
    flush();
  }
  if (length > kScratchBytes) {
    transport->write(data, length);  // copies whatever the kernel does not take
    return;
  }
  char* copy = scratch_ + scratch_used_;
  std::memcpy(copy, data, length);
  scratch_used_ += length;
  add(transport, copy, length);
}

void WriteBatch::flush() {
  Transport* target = target_;
  const size_t count = count_;
  // Reset first: the transport asks pendingFor() while writing.
  target_ = nullptr;
  count_ = 0;
  bytes_ = 0;
  if (count != 0 && target != nullptr) target->write(buffers_, count);
  scratch_used_ = 0;
}

void WriteBatch::forget(const Transport* transport) {
  if (transport != target_) return;
  target_ = nullptr;
  count_ = 0;
  bytes_ = 0;
  scratch_used_ = 0;
}

}  // namespace sy::core
