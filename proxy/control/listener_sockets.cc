#include "proxy/control/listener_sockets.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/loop_context.h"
#include "core/net_address.h"

namespace sy::proxy::control {

namespace {

// Hands `fds`, inherited sockets of one listener, to the workers: one each while they last (an
// upgrade with the same worker count gets exactly that), then shared copies (systemd passes one
// socket for all; each worker's loop may wait on the same socket). Sockets beyond the worker
// count are closed: their queues end with the process that handed them over.
void shareInherited(std::vector<int> fds, uint32_t backlog,
                    std::vector<std::vector<int>>& fds_by_worker) {
  const int one = 1;
  for (int fd : fds) {
    // What openReusePortSocket sets, which systemd's sockets may lack (a worker's accept must
    // not block when another took the connection); listen() again applies this backlog.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::listen(fd, static_cast<int>(backlog));
  }
  const size_t workers = fds_by_worker.size();
  for (size_t w = 0; w < workers; ++w) {
    fds_by_worker[w].push_back(w < fds.size() ? fds[w]
                                              : ::fcntl(fds[w % fds.size()], F_DUPFD_CLOEXEC, 0));
  }
  for (size_t i = workers; i < fds.size(); ++i) ::close(fds[i]);
}

}  // namespace

bool openListenerSocket(const routing::config::ListenerConfig& listener, uint32_t workers,
                        std::vector<int>* fds, std::string* resolved, std::string* error) {
  auto fail = [&](const std::string& address, int err) {
    core::logError(
        "listen_failed",
        {{"listener", listener.name}, {"address", address}, {"error", std::strerror(err)}});
    if (error != nullptr) {
      *error = "listener " + listener.name + " on " + address + ": " + std::strerror(err);
    }
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
                         ListenerSockets* sockets, InheritedSockets* inherited) {
  std::vector<std::vector<int>>& fds_by_worker = sockets->fds_by_worker;
  fds_by_worker.assign(workers, {});
  for (const auto& listener : config.listeners) {
    if (inherited != nullptr) {
      std::vector<int> fds =
          inherited->take(InheritedSockets::Kind::kListener, listener.name, listener.listen);
      if (!fds.empty()) {
        sockets->addresses.push_back(core::socketLocalAddress(fds.front()).toString());
        shareInherited(std::move(fds), listener.backlog, fds_by_worker);
        continue;
      }
    }
    std::vector<int> fds;
    std::string address;
    if (!openListenerSocket(listener, workers, &fds, &address, &sockets->error)) {
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
