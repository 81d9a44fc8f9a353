#include "core/timeout_queue.h"

#include "core/log.h"

namespace sy::core {

int TimeoutQueue::init(uv_loop_t* loop) {
  loop_ = loop;
  const int rc = timer_.init(loop, uv_timer_init);
  if (rc != 0) return rc;
  timer_.get()->data = this;
  return 0;
}

void TimeoutQueue::close() {
  for (auto& list : lists_) {
    while (!list->entries.empty()) unlink(list->entries.front());
  }
  timer_.reset();
}

void TimeoutQueue::setClockForTest(uint64_t (*clock)(void*), void* context) {
  clock_ = clock;
  clock_context_ = context;
}

uint64_t TimeoutQueue::now() const {
  return clock_ != nullptr ? clock_(clock_context_) : uv_now(loop_);
}

TimeoutEntry::List* TimeoutQueue::listFor(uint64_t duration_ms) {
  // The durations side by side: the scan reads one cache line, not one list each.
  for (size_t i = 0; i < durations_.size(); ++i) {
    if (durations_[i] == duration_ms) return lists_[i].get();
  }
  lists_.push_back(std::make_unique<TimeoutEntry::List>());
  lists_.back()->duration_ms = duration_ms;
  durations_.push_back(duration_ms);
  return lists_.back().get();
}

void TimeoutQueue::unlink(TimeoutEntry* entry) {
  TimeoutEntry::List* list = entry->list_;
  if (list == nullptr) return;
  list->entries.remove(entry);
  entry->list_ = nullptr;
}

void TimeoutQueue::schedule(TimeoutEntry* entry, uint64_t duration_ms) {
  const uint64_t deadline = now() + duration_ms;
  TimeoutEntry::List* list = entry->list_;
  if (list != nullptr && list->duration_ms == duration_ms) {
    // The loop's clock moves once per iteration, and an exchange restarts the same timeout
    // several times in one (attach, write, request end): nothing later than `deadline` can be
    // on this list, so the entry's place is already right.
    if (entry->deadline_ms_ == deadline) return;
    if (list->entries.back() != entry) {
      list->entries.remove(entry);
      list->entries.pushBack(entry);
    }
  } else {
    unlink(entry);
    list = listFor(duration_ms);
    entry->list_ = list;
    list->entries.pushBack(entry);
  }
  entry->deadline_ms_ = deadline;
  // The timer may stay armed for a later deadline: it re-arms itself when it fires early. Only
  // a deadline earlier than the armed one needs the timer moved.
  if (armed_deadline_ms_ == 0 || entry->deadline_ms_ < armed_deadline_ms_) rearm();
}

void TimeoutQueue::cancel(TimeoutEntry* entry) { unlink(entry); }

void TimeoutQueue::expire(uint64_t now_ms) {
  // Earliest deadline first across the lists (there are only a handful of lists).
  while (true) {
    TimeoutEntry* due = nullptr;
    for (auto& list : lists_) {
      TimeoutEntry* head = list->entries.front();
      if (head != nullptr && head->deadline_ms_ <= now_ms &&
          (due == nullptr || head->deadline_ms_ < due->deadline_ms_)) {
        due = head;
      }
    }
    if (due == nullptr) return;
    unlink(due);
    due->onTimeout();  // may schedule or cancel other entries, or this one again
  }
}

void TimeoutQueue::rearm() {
  uint64_t earliest = 0;
  for (auto& list : lists_) {
    const TimeoutEntry* head = list->entries.front();
    if (head != nullptr && (earliest == 0 || head->deadline_ms_ < earliest)) {
      earliest = head->deadline_ms_;
    }
  }
  if (!timer_) return;
  armed_deadline_ms_ = earliest;
  if (earliest == 0) {
    uv_timer_stop(timer_.get());
    return;
  }
  const uint64_t current = now();
  const int rc = uv_timer_start(timer_.get(), &TimeoutQueue::onTimer,
                                earliest > current ? earliest - current : 0, 0);
  if (rc != 0) logError("uv_timer_start_failed", {{"error", uv_strerror(rc)}});
}

void TimeoutQueue::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<TimeoutQueue*>(timer->data);
  self->armed_deadline_ms_ = 0;
  self->expire(self->now());
  self->rearm();
}

}  // namespace sy::core
