#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/intrusive_list.h"
#include "core/uv_handle.h"

namespace sy::core {

class TimeoutQueue;

// Something with at most one pending timeout at a time, embedded in the connection that owns
// it (no allocation, no libuv handle of its own, nothing to close).
class TimeoutEntry : public ListLinks<TimeoutEntry> {
 public:
  TimeoutEntry() = default;
  TimeoutEntry(const TimeoutEntry&) = delete;
  TimeoutEntry& operator=(const TimeoutEntry&) = delete;

  bool scheduled() const { return list_ != nullptr; }
  // Clears the last deadline of an entry that is not scheduled (its bytes are then the same as
  // a new entry's: see proxy/h2_connection.cc, hibernation).
  void forgetDeadline() {
    if (list_ == nullptr) deadline_ms_ = 0;
  }

 protected:
  virtual ~TimeoutEntry() = default;
  // Runs on the loop thread when the timeout expires. The entry is no longer scheduled.
  virtual void onTimeout() = 0;

 private:
  friend class TimeoutQueue;
  struct List;
  List* list_ = nullptr;  // the list it is on, while scheduled
  uint64_t deadline_ms_ = 0;
};

struct TimeoutEntry::List {
  uint64_t duration_ms;
  IntrusiveList<TimeoutEntry> entries;  // earliest deadline first
};

// All timeouts of one loop, kept as one FIFO list per distinct duration (as Node.js does).
// Entries of a list share their duration, so appending at the tail keeps each list sorted by
// deadline: scheduling, re-scheduling and cancelling are O(1) pointer moves, and one uv timer
// serves the whole loop. A configuration has a handful of distinct durations, so finding a
// list is a short linear scan.
class TimeoutQueue {
 public:
  TimeoutQueue() = default;
  TimeoutQueue(const TimeoutQueue&) = delete;
  TimeoutQueue& operator=(const TimeoutQueue&) = delete;

  // Loop thread only. Returns a libuv error code.
  int init(uv_loop_t* loop);
  // Closes the timer; pending entries are forgotten (not fired).
  void close();

  // (Re)starts `entry`'s timeout: it fires `duration_ms` from now unless rescheduled or
  // cancelled first. Rescheduling an entry is how inactivity timeouts are kept fresh.
  void schedule(TimeoutEntry* entry, uint64_t duration_ms);
  void cancel(TimeoutEntry* entry);

  // Fires whatever is due at `now_ms`; exposed so tests can drive time by hand.
  void expire(uint64_t now_ms);
  // Overrides the clock (tests); by default uv_now(loop).
  void setClockForTest(uint64_t (*clock)(void*), void* context);

 private:
  static void onTimer(uv_timer_t* timer);
  uint64_t now() const;
  TimeoutEntry::List* listFor(uint64_t duration_ms);
  void unlink(TimeoutEntry* entry);
  void rearm();

  uv_loop_t* loop_ = nullptr;
  UvHandle<uv_timer_t> timer_;      // on the heap: libuv frees it after close(), not with us
  uint64_t armed_deadline_ms_ = 0;  // 0: not armed
  std::vector<std::unique_ptr<TimeoutEntry::List>> lists_;
  std::vector<uint64_t> durations_;  // lists_[i]->duration_ms, for listFor's scan
  uint64_t (*clock_)(void*) = nullptr;
  void* clock_context_ = nullptr;
};

}  // namespace sy::core
