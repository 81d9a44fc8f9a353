#include "proxy/inherited_sockets.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

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

void addSystemdSockets(InheritedSockets* sockets) {
  char** names = nullptr;
  // unset_environment=1: a later upgrade must not take LISTEN_FDS meant for this process.
  const int count = sd_listen_fds_with_names(/*unset_environment=*/1, &names);
  if (count < 0) {
    core::logWarn("listen_fds_ignored", {{"error", std::string(strerror(-count))}});
    return;
  }
  for (int i = 0; i < count; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    std::string name = names != nullptr && names[i] != nullptr ? names[i] : "";
    // systemd names an unnamed socket "unknown" (or after its unit): matched by address then.
    if (name == "unknown") name.clear();
    if (names != nullptr) std::free(names[i]);
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, /*listening=*/1) <= 0) {
      core::logWarn("listen_fds_ignored",
                    {{"fd", fd}, {"name", name}, {"error", "not a listening TCP socket"}});
      ::close(fd);
      continue;
    }
    core::logInfo("socket_inherited", {{"from", "systemd"},
                                       {"name", name},
                                       {"address", core::socketLocalAddress(fd).toString()}});
    sockets->add(InheritedSockets::Kind::kListener, std::move(name), fd);
  }
  std::free(names);
}

}  // namespace sy::proxy
