#pragma once

#include <cstddef>

namespace sy::core {

// A copy of a memory range that keeps only its non-zero runs, to be written back later into
// the same range after the range was zeroed (madvise(MADV_DONTNEED) on anonymous pages). Made
// for memory that is mostly zeros (hash tables, pointer rings, large structs with few fields
// set): an nghttp2 session's 25 KB pack into 1-2 KB (proxy/h2_session_memory.h).
//
// Layout of the buffer: for each run, the zero bytes before it (from the previous run's end)
// and its length, as LEB128 varints (1-2 bytes each in a slot of 28 KB), then its bytes. A
// difference from a template (core/block_template.h) is many short runs: fixed 8-byte headers
// were a third of such an image.
//
// The object is one pointer (it is kept by every hibernated HTTP/2 connection): a malloc
// block of exactly the image's bytes, prefixed by their count as a varint. The runs are
// gathered in a per-thread buffer between the first add() and seal(), so one thread builds one
// image at a time, and an image is usable (restoreInto, size) once sealed.
class ZeroRunImage {
 public:
  // Zero gaps shorter than this stay inside a run: a run's header costs 2-4 bytes.
  static constexpr size_t kMinZeroGap = 4;

  ZeroRunImage() = default;
  ~ZeroRunImage() { clear(); }
  ZeroRunImage(const ZeroRunImage&) = delete;
  ZeroRunImage& operator=(const ZeroRunImage&) = delete;

  // Adds the non-zero runs of base[begin, end) (offsets from `base`). Ranges are added in
  // increasing order and do not overlap; the first add() after a clear() starts a new image.
  void add(const char* base, size_t begin, size_t end);
  // Ends the adds: the runs go into the image's own block. Before any other image is built on
  // this thread.
  void seal();
  // Writes the runs back into `base`, whose bytes must be zero where the runs are not.
  void restoreInto(char* base) const;
  void clear();
  // Sealed since the last clear(): an image, even of nothing (a block of one byte then).
  bool sealed() const { return data_ != nullptr; }
  bool empty() const { return size() == 0; }
  // The heap bytes the image holds (its block, as requested from malloc).
  size_t storedBytes() const;
  // The bytes of its runs and their headers.
  size_t size() const;

 private:
  // Where the runs begin in data_, and how many bytes they are.
  const char* runs(size_t* length) const;

  char* data_ = nullptr;
};

}  // namespace sy::core
