#pragma once

#include <cstddef>
#include <string>

namespace sy::core {

// A copy of a memory range that keeps only its non-zero runs, to be written back later into
// the same range after the range was zeroed (madvise(MADV_DONTNEED) on anonymous pages). Made
// for memory that is mostly zeros (hash tables, pointer rings, large structs with few fields
// set): an nghttp2 session's 25 KB pack into 1-2 KB (proxy/h2_session_memory.h).
//
// Layout of the buffer: for each run, its offset and length (two uint32_t), then its bytes.
class ZeroRunImage {
 public:
  // Zero gaps shorter than this stay inside a run: a run's header costs 8 bytes.
  static constexpr size_t kMinZeroGap = 16;

  // Adds the non-zero runs of base[begin, end) (offsets from `base`). Ranges are added in
  // increasing order and do not overlap.
  void add(const char* base, size_t begin, size_t end);
  // Drops spare capacity once every range is added.
  void seal() { bytes_.shrink_to_fit(); }
  // Writes the runs back into `base`, whose bytes must be zero where the runs are not.
  void restoreInto(char* base) const;
  void clear() { std::string().swap(bytes_); }
  bool empty() const { return bytes_.empty(); }
  // The heap bytes the image holds.
  size_t storedBytes() const { return bytes_.capacity(); }

 private:
  void appendRun(const char* base, size_t begin, size_t end);

  std::string bytes_;
};

}  // namespace sy::core
