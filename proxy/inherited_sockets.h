#pragma once

// Listening sockets this process did not open itself: handed over by the process it replaces
// (a hot binary upgrade, proxy/control/upgrade.h) or passed by systemd's socket activation
// (LISTEN_FDS). Each is matched to a listener of the configuration by name or by address and
// used instead of binding; what no listener takes is closed.

#include <string>
#include <string_view>
#include <vector>

#include "core/net_address.h"

namespace sy::proxy {

class InheritedSockets {
 public:
  // What a socket is for: the client listeners, or the admin API's listener.
  enum class Kind { kListener, kAdmin };

  InheritedSockets() = default;
  ~InheritedSockets() { closeUnused(); }
  InheritedSockets(InheritedSockets&& other) noexcept : entries_(std::move(other.entries_)) {
    other.entries_.clear();
  }
  InheritedSockets& operator=(InheritedSockets&&) = delete;
  InheritedSockets(const InheritedSockets&) = delete;
  InheritedSockets& operator=(const InheritedSockets&) = delete;

  // Takes ownership of `fd`, a listening socket; `name` may be empty. Sockets with the same
  // kind, name and address form one group (one per worker when they come from an upgrade).
  void add(Kind kind, std::string name, int fd);

  // The sockets of the group that serves the listener `name` bound to `address`: the group of
  // that name when its address fits (the same, or `address` has port 0), else a group bound to
  // exactly `address`. The caller owns them; empty when none matches.
  std::vector<int> take(Kind kind, std::string_view name, const core::NetAddress& address);

  // Closes (and logs, as inherited_socket_unused) the sockets nobody took.
  void closeUnused();
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    Kind kind;
    std::string name;
    core::NetAddress address;  // where the socket is bound (getsockname)
    std::vector<int> fds;
  };
  std::vector<Entry> entries_;
};

// systemd socket activation (sd_listen_fds_with_names(3)): the listening sockets passed with
// LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, as client listeners named by FileDescriptorName=.
// The variables are unset, so that a process started later (an upgrade) does not see them.
// Sockets that are not listening TCP sockets are logged and closed.
void addSystemdSockets(InheritedSockets* sockets);

}  // namespace sy::proxy
