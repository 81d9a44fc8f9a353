#include "proxy/control/listener_sockets.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/loop_context.h"
#include "core/net_address.h"

namespace sy::proxy::control {

bool openListenerSocket(const routing::config::ListenerConfig& listener, uint32_t workers,
                        std::vector<int>* fds, std::string* resolved) {
  auto fail = [&](const std::string& address, int err) {
    core::logError(
        "listen_failed",
        {{"listener", listener.name}, {"address", address}, {"error", std::strerror(err)}});
    for (int fd : *fds) ::close(fd);
    fds->clear();
    return false;
  };
  core::NetAddress address = listener.listen;
  if (address.port() != 0) {
    // SO_REUSEPORT would let us share a port with another process of the same user and
    // silently split its traffic: first make sure nobody listens there.
    const int probe = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool taken = ::bind(probe, address.sockaddr_ptr(), address.length()) != 0;
    const int err = errno;
    ::close(probe);
    if (taken) return fail(address.toString(), err);
  }
  for (uint32_t w = 0; w < workers; ++w) {
    const int fd = core::openReusePortSocket(address);
    if (fd < 0) return fail(address.toString(), -fd);
    if (::listen(fd, static_cast<int>(listener.backlog)) != 0) {
      const int err = errno;
      ::close(fd);
      return fail(address.toString(), err);
    }
    if (address.port() == 0) address = core::socketLocalAddress(fd);  // the others follow
    fds->push_back(fd);
  }
  *resolved = address.toString();
  return true;
}

bool openListenerSockets(const routing::config::Config& config, uint32_t workers,
                         ListenerSockets* sockets) {
  std::vector<std::vector<int>>& fds_by_worker = sockets->fds_by_worker;
  fds_by_worker.assign(workers, {});
  for (const auto& listener : config.listeners) {
    std::vector<int> fds;
    std::string address;
    if (!openListenerSocket(listener, workers, &fds, &address)) {
      closeListenerSockets(fds_by_worker);
      return false;
    }
    for (uint32_t w = 0; w < workers; ++w) fds_by_worker[w].push_back(fds[w]);
    sockets->addresses.push_back(address);
  }
  return true;
}

void closeListenerSockets(std::vector<std::vector<int>>& fds_by_worker) {
  for (auto& fds : fds_by_worker) {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
}

}  // namespace sy::proxy::control
