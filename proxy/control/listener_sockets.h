#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/inherited_sockets.h"
#include "routing/config/model.h"

namespace sy::proxy::control {

// The client listeners' sockets: one SO_REUSEPORT socket per listener and worker, opened on the
// control thread before the workers start (the kernel then spreads connections over them).
struct ListenerSockets {
  std::vector<std::vector<int>> fds_by_worker;  // [worker][listener]
  std::vector<std::string> addresses;           // per listener, the port resolved when it was 0
  std::string error;                            // why opening failed, for an upgrade's reply
};

// Opens every listener of `config` for `workers` workers. A listener that `inherited` has a
// socket for (an upgrade, systemd) uses it instead of binding. On failure logs `listen_failed`,
// closes what it opened and returns false.
bool openListenerSockets(const routing::config::Config& config, uint32_t workers,
                         ListenerSockets* sockets, InheritedSockets* inherited = nullptr);
// Opens one listener's socket for each of `workers` workers (`fds`, by worker) and gives its
// address, the port resolved when it was 0. On failure logs `listen_failed`, says why in `error`
// (when given), closes what it opened and returns false. Startup and reloads that add or move a
// listener use it.
bool openListenerSocket(const routing::config::ListenerConfig& listener, uint32_t workers,
                        std::vector<int>* fds, std::string* resolved, std::string* error = nullptr);
// Closes the sockets no worker took over.
void closeListenerSockets(std::vector<std::vector<int>>& fds_by_worker);

}  // namespace sy::proxy::control
