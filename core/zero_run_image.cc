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

namespace {

void appendZeroRunVarint(std::string& out, size_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

size_t readZeroRunVarint(const std::string& in, size_t& at) {
  size_t value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(in[at++]);
    value |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

}  // namespace

void ZeroRunImage::appendRun(const char* base, size_t begin, size_t end) {
  appendZeroRunVarint(bytes_, begin - end_);
  appendZeroRunVarint(bytes_, end - begin);
  bytes_.append(base + begin, end - begin);
  end_ = end;
}

void ZeroRunImage::restoreInto(char* base) const {
  size_t at = 0;
  size_t offset = 0;
  while (at < bytes_.size()) {
    offset += readZeroRunVarint(bytes_, at);
    const size_t length = readZeroRunVarint(bytes_, at);
    std::memcpy(base + offset, bytes_.data() + at, length);
    at += length;
    offset += length;
  }
}

}  // namespace sy::core
