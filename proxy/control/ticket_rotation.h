#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tls/ticket_keys.h"

namespace sy::proxy::control {

// Rotates the session ticket keys of every TLS listener (and of the admin API) on the control
// thread, each at its own session_ticket_rotation period. Workers see a rotation at once: they
// read the ring the listener's ServerContext shares with them (tls/ticket_keys.h), so nothing
// is published. A ring that stays across a reload keeps its schedule.
class TicketRotation {
 public:
  struct Entry {
    std::string name;  // the listener ("admin" for the admin API), for the log line
    std::shared_ptr<tls::TicketKeyRing> ring;
    uint64_t period_ms = 0;
  };

  TicketRotation() = default;
  ~TicketRotation() { close(); }
  TicketRotation(const TicketRotation&) = delete;
  TicketRotation& operator=(const TicketRotation&) = delete;

  void start(uv_loop_t* loop);
  // The rings to rotate from now on (at start and after every reload).
  void configure(std::vector<Entry> entries);
  void close();

 private:
  struct Scheduled {
    Entry entry;
    uint64_t due_ms = 0;
  };
  static void onTimer(uv_timer_t* timer);
  void arm();

  uv_loop_t* loop_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  std::vector<Scheduled> scheduled_;
};

}  // namespace sy::proxy::control
