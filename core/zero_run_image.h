#pragma once

#include <cstddef>
#include <string>

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
class ZeroRunImage {
 public:
  // Zero gaps shorter than this stay inside a run: a run's header costs 2-4 bytes.
  static constexpr size_t kMinZeroGap = 4;

  // Adds the non-zero runs of base[begin, end) (offsets from `base`). Ranges are added in
  // increasing order and do not overlap.
  void add(const char* base, size_t begin, size_t end);
  // Drops spare capacity once every range is added.
  void seal() { bytes_.shrink_to_fit(); }
  // Writes the runs back into `base`, whose bytes must be zero where the runs are not.
  void restoreInto(char* base) const;
  void clear() {
    std::string().swap(bytes_);
    end_ = 0;
  }
  bool empty() const { return bytes_.empty(); }
  // The heap bytes the image holds.
  size_t storedBytes() const { return bytes_.capacity(); }
  // The bytes of its runs and their headers.
  size_t size() const { return bytes_.size(); }

 private:
  void appendRun(const char* base, size_t begin, size_t end);

  std::string bytes_;
  size_t end_ = 0;  // the last run's end (offset from base) while runs are added
};

}  // namespace sy::core
