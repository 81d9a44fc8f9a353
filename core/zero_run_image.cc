#include "core/zero_run_image.h"

#include <cstdint>
#include <cstring>

namespace sy::core {

void ZeroRunImage::add(const char* base, size_t begin, size_t end) {
  size_t run_begin = begin;
  while (run_begin < end && base[run_begin] == 0) ++run_begin;
  while (run_begin < end) {
    // Extend the run up to a zero gap of kMinZeroGap bytes (or the end).
    size_t run_end = run_begin + 1;
    size_t zeros = 0;
    size_t scan = run_end;
    while (scan < end) {
      if (base[scan] == 0) {
        if (++zeros == kMinZeroGap) break;
      } else {
        zeros = 0;
        run_end = scan + 1;
      }
      ++scan;
    }
    appendRun(base, run_begin, run_end);
    run_begin = scan;
    while (run_begin < end && base[run_begin] == 0) ++run_begin;
  }
}

void ZeroRunImage::appendRun(const char* base, size_t begin, size_t end) {
  const uint32_t header[2] = {static_cast<uint32_t>(begin), static_cast<uint32_t>(end - begin)};
  bytes_.append(reinterpret_cast<const char*>(header), sizeof(header));
  bytes_.append(base + begin, end - begin);
}

void ZeroRunImage::restoreInto(char* base) const {
  size_t at = 0;
  while (at < bytes_.size()) {
    uint32_t header[2];
    std::memcpy(header, bytes_.data() + at, sizeof(header));
    at += sizeof(header);
    std::memcpy(base + header[0], bytes_.data() + at, header[1]);
    at += header[1];
  }
}

}  // namespace sy::core
