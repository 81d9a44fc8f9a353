#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proxy/worker.h"
#include "routing/config/model.h"
#include "routing/snapshot.h"

namespace sy::proxy::control {

// What a reload does to the listening sockets. A listener is known by its name: one whose
// address and backlog did not change keeps its sockets (and its connections); a new one, or one
// whose address or backlog changed, gets new sockets in every worker; one the new configuration
// no longer has is closed. Everything else about a listener (TLS, timeouts, limits) lives in the
// snapshot and applies without touching its sockets.
//
// The sockets are opened before anything of the reload is applied, so a port that cannot be
// bound refuses the reload as a whole. Control thread, except take(), which each worker calls
// once for its own row.
class ListenerChanges {
 public:
  // Opens the sockets `next` needs that `running` does not have. On failure closes what it
  // opened and returns the error (one line naming the listener and the address).
  absl::Status open(const routing::config::Config& running, const routing::config::Config& next,
                    uint32_t workers);
  ~ListenerChanges();

  bool empty() const { return closed_names_.empty() && opened_.empty(); }
  // The listening sockets by worker and by listener in `next`'s order, once this change is
  // applied: kept ones from `running_fds` (by worker, in `running`'s order), the rest opened
  // here. Call it after open() and before any worker applies the change: an upgrade hands these
  // over, so they must never name a socket a worker closed.
  std::vector<std::vector<int>> socketsAfter(
      const routing::config::Config& running, const routing::config::Config& next,
      const std::vector<std::vector<int>>& running_fds) const;
  // Once the snapshot of `next` is built: turns names into listener ids. `before` is the
  // snapshot in force until now.
  void resolve(const routing::ConfigSnapshot& before, const routing::ConfigSnapshot& after);
  // Worker thread: applies the change to `worker` (after it adopted the new snapshot).
  void applyTo(Worker& worker);
  // Logs `listening` for each listener opened and `listener_closed` for each one closed.
  void log() const;

 private:
  struct Opened {
    std::string name;
    std::string address;   // resolved
    std::vector<int> fds;  // by worker; -1 once the worker took it
    uint32_t id = 0;
  };
  std::vector<std::string> closed_names_;  // including moved ones (closed, then opened again)
  std::vector<uint32_t> closed_ids_;
  std::vector<Opened> opened_;
};

}  // namespace sy::proxy::control
