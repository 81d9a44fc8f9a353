#include "proxy/inherited_sockets.h"

#include <unistd.h>

#include "core/log.h"
#include "core/loop_context.h"

namespace sy::proxy {
namespace {

const char* kindName(InheritedSockets::Kind kind) {
  return kind == InheritedSockets::Kind::kAdmin ? "admin" : "listener";
}

}  // namespace

void InheritedSockets::add(Kind kind, std::string name, int fd) {
  core::NetAddress address = core::socketLocalAddress(fd);
  for (Entry& entry : entries_) {
    if (entry.kind == kind && entry.name == name && entry.address == address) {
      entry.fds.push_back(fd);
      return;
    }
  }
  entries_.push_back(Entry{kind, std::move(name), std::move(address), {fd}});
}

std::vector<int> InheritedSockets::take(Kind kind, std::string_view name,
                                        const core::NetAddress& address) {
  auto fits = [&](const Entry& entry) {
    return address.port() == 0 ? entry.address.family() == address.family()
                               : entry.address == address;
  };
  auto found = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->kind == kind && !it->name.empty() && it->name == name && fits(*it)) found = it;
  }
  if (found == entries_.end() && address.port() != 0) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->kind == kind && it->address == address) found = it;
    }
  }
  if (found == entries_.end()) return {};
  std::vector<int> fds = std::move(found->fds);
  entries_.erase(found);
  return fds;
}

void InheritedSockets::closeUnused() {
  for (Entry& entry : entries_) {
    // A listener removed from the configuration, or a socket unit that names one that is not
    // there: the process that keeps it (systemd, or the old process until it exits) decides.
    core::logWarn("inherited_socket_unused", {{"kind", kindName(entry.kind)},
                                              {"name", entry.name},
                                              {"address", entry.address.toString()},
                                              {"sockets", entry.fds.size()}});
    for (int fd : entry.fds) ::close(fd);
  }
  entries_.clear();
}

}  // namespace sy::proxy
