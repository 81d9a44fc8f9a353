#include "core/zero_run_image.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace sy::core {
namespace {

// The image being built on this thread (between the first add() and seal()).
struct ZeroRunBuild {
  // Empties the buffer for `new_owner` (nullptr: nobody's).
  void reset(const ZeroRunImage* new_owner) {
    owner = new_owner;
    bytes.clear();
    end = 0;
  }

  std::string bytes;
  size_t end = 0;  // the last run's end (offset from base)
  const ZeroRunImage* owner = nullptr;
};
thread_local ZeroRunBuild zero_run_build;

void appendZeroRunVarint(std::string& out, size_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

size_t readZeroRunVarint(const char* in, size_t& at) {
  size_t value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(in[at++]);
    value |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

size_t zeroRunVarintBytes(size_t value) {
  size_t bytes = 1;
  for (; value >= 0x80; value >>= 7) ++bytes;
  return bytes;
}

void appendZeroRun(ZeroRunBuild& build, const char* base, size_t begin, size_t end) {
  appendZeroRunVarint(build.bytes, begin - build.end);
  appendZeroRunVarint(build.bytes, end - begin);
  build.bytes.append(base + begin, end - begin);
  build.end = end;
}

}  // namespace

void ZeroRunImage::add(const char* base, size_t begin, size_t end) {
  ZeroRunBuild& build = zero_run_build;
  if (build.owner != this) build.reset(this);
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
    appendZeroRun(build, base, run_begin, run_end);
    run_begin = scan;
    while (run_begin < end && base[run_begin] == 0) ++run_begin;
  }
}

void ZeroRunImage::seal() {
  ZeroRunBuild& build = zero_run_build;
  const bool added = build.owner == this;
  const size_t length = added ? build.bytes.size() : 0;
  std::free(data_);
  const size_t prefix = zeroRunVarintBytes(length);
  data_ = static_cast<char*>(std::malloc(prefix + length));
  if (data_ == nullptr) throw std::bad_alloc();
  std::string header;
  appendZeroRunVarint(header, length);
  std::memcpy(data_, header.data(), prefix);
  if (length != 0) std::memcpy(data_ + prefix, build.bytes.data(), length);
  if (added) build.reset(nullptr);
}

void ZeroRunImage::clear() {
  std::free(data_);
  data_ = nullptr;
  ZeroRunBuild& build = zero_run_build;
  if (build.owner == this) build.reset(nullptr);
}

const char* ZeroRunImage::runs(size_t* length) const {
  if (data_ == nullptr) {
    *length = 0;
    return nullptr;
  }
  size_t at = 0;
  *length = readZeroRunVarint(data_, at);
  return data_ + at;
}

size_t ZeroRunImage::storedBytes() const {
  size_t length = 0;
  const char* bytes = runs(&length);
  return bytes == nullptr ? 0 : static_cast<size_t>(bytes - data_) + length;
}

size_t ZeroRunImage::size() const {
  size_t length = 0;
  runs(&length);
  return length;
}

void ZeroRunImage::restoreInto(char* base) const {
  size_t length = 0;
  const char* bytes = runs(&length);
  size_t at = 0;
  size_t offset = 0;
  while (at < length) {
    offset += readZeroRunVarint(bytes, at);
    const size_t run = readZeroRunVarint(bytes, at);
    std::memcpy(base + offset, bytes + at, run);
    at += run;
    offset += run;
  }
}

}  // namespace sy::core
