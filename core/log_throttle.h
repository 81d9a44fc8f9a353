#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace sy::core {

// Keeps an event that repeats (a warning per failed request, a refused connection per accept)
// from flooding the log: per key, at most one line per interval goes out, and that line can
// say how many were held back since the previous one. Not thread-safe: each thread (a worker,
// the control thread) keeps its own.
class LogThrottle {
 public:
  explicit LogThrottle(uint64_t interval_ms = 1000) : interval_ms_(interval_ms) {}

  // A line for `key` may be written now: returns how many lines for it were suppressed since
  // the last one written. Otherwise nullopt, and the line is counted as suppressed.
  std::optional<uint64_t> admit(const std::string& key, uint64_t now_ms) {
    // Keys are pools, backends or listeners: a handful. The bound only matters if a caller
    // ever keys by something unbounded (addresses); then old keys are forgotten wholesale.
    if (keys_.size() >= kMaxKeys && !keys_.contains(key)) keys_.clear();
    State& state = keys_[key];
    if (state.written && now_ms - state.last_ms < interval_ms_) {
      ++state.suppressed;
      return std::nullopt;
    }
    const uint64_t suppressed = state.suppressed;
    state = State{.last_ms = now_ms, .suppressed = 0, .written = true};
    return suppressed;
  }

 private:
  static constexpr size_t kMaxKeys = 4096;
  struct State {
    uint64_t last_ms = 0;
    uint64_t suppressed = 0;
    bool written = false;
  };
  const uint64_t interval_ms_;
  absl::flat_hash_map<std::string, State> keys_;
};

}  // namespace sy::core
