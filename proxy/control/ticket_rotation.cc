#include "proxy/control/ticket_rotation.h"

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace sy::proxy::control {

void TicketRotation::start(uv_loop_t* loop) {
  loop_ = loop;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  // A pending rotation must not keep the loop alive at shutdown.
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  arm();
}

void TicketRotation::configure(std::vector<Entry> entries) {
  const uint64_t now = loop_ != nullptr ? uv_now(loop_) : 0;
  std::vector<Scheduled> next;
  for (Entry& entry : entries) {
    if (entry.ring == nullptr || entry.period_ms == 0) continue;
    Scheduled scheduled{std::move(entry), 0};
    auto same = std::find_if(scheduled_.begin(), scheduled_.end(), [&](const Scheduled& known) {
      return known.entry.ring == scheduled.entry.ring &&
             known.entry.period_ms == scheduled.entry.period_ms;
    });
    // A ring carried over by a reload keeps its due time: reloading often must not postpone
    // rotation forever.
    scheduled.due_ms = same != scheduled_.end() ? same->due_ms : now + scheduled.entry.period_ms;
    next.push_back(std::move(scheduled));
  }
  scheduled_ = std::move(next);
  arm();
}

void TicketRotation::close() {
  if (timer_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  timer_ = nullptr;
  scheduled_.clear();
}

void TicketRotation::arm() {
  if (timer_ == nullptr) return;
  uv_timer_stop(timer_);
  if (scheduled_.empty()) return;
  uint64_t due = scheduled_.front().due_ms;
  for (const Scheduled& scheduled : scheduled_) due = std::min(due, scheduled.due_ms);
  const uint64_t now = uv_now(loop_);
  uv_timer_start(timer_, &TicketRotation::onTimer, due > now ? due - now : 0, 0);
}

void TicketRotation::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<TicketRotation*>(timer->data);
  const uint64_t now = uv_now(self->loop_);
  for (Scheduled& scheduled : self->scheduled_) {
    if (scheduled.due_ms > now) continue;
    scheduled.entry.ring->rotate();
    scheduled.due_ms = now + scheduled.entry.period_ms;
    core::logInfo("tls_ticket_keys_rotated", {{"listener", scheduled.entry.name},
                                              {"rotations", scheduled.entry.ring->rotations()}});
  }
  self->arm();
}

}  // namespace sy::proxy::control
