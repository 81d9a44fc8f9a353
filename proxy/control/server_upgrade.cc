// The Server's part in a hot binary upgrade, both ends: the running process starts the new
// one and hands over (upgrade, upgradeDone); the new process takes the sockets and the state
// (takeInheritedSockets) and reports how its start went (startFailed, onWorkerStarted).

#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/server.h"
#include "proxy/control/state_file.h"
#include "proxy/control/upgrade_channel.h"
#include "proxy/service_notify.h"

namespace sy::proxy::control {

bool Server::takeInheritedSockets(InheritedSockets* inherited) {
  const char* channel = std::getenv(kUpgradeFdVariable);
  if (channel == nullptr) {
    addSystemdSockets(inherited);
    return true;
  }
  int fd = -1;
  const bool valid = absl::SimpleAtoi(channel, &fd) && fd >= 0;
  // Not for the processes this one may start in turn.
  ::unsetenv(kUpgradeFdVariable);
  if (!valid) {
    startup_error_ = std::string("malformed ") + kUpgradeFdVariable;
    core::logError("upgrade_handoff_failed", {{"error", startup_error_}});
    return false;
  }
  upgrade_channel_ = fd;
  absl::StatusOr<nlohmann::json> state = receiveHandoff(fd, inherited);
  if (!state.ok()) {
    startup_error_ = "handoff: " + std::string(state.status().message());
    core::logError("upgrade_handoff_failed", {{"error", startup_error_}});
    return false;
  }
  handed_state_ = std::move(*state);
  core::logInfo("upgrade_handoff_received", {{"parent_pid", ::getppid()}});
  return true;
}

int Server::startFailed(const std::string& reason) {
  if (upgrade_channel_ >= 0) {
    sendChannelMessage(upgrade_channel_, {{"ready", false}, {"error", reason}}).IgnoreError();
    ::close(std::exchange(upgrade_channel_, -1));
  }
  return 1;
}

void Server::upgrade(const std::string& binary, admin::Responder respond) {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down) {
    respond(admin::errorReply(503, "shutting down: no upgrade"));
    return;
  }
  if (upgrader_.running()) {
    respond(admin::errorReply(409, "an upgrade is in progress already"));
    return;
  }
  std::vector<Upgrader::Socket> sockets;
  for (const std::vector<int>& fds : listener_fds_) {
    for (size_t i = 0; i < fds.size() && i < state_.config->listeners.size(); ++i) {
      sockets.push_back(
          {InheritedSockets::Kind::kListener, state_.config->listeners[i].name, fds[i]});
    }
  }
  if (admin_server_ != nullptr && admin_server_->listeningFd() >= 0) {
    sockets.push_back({InheritedSockets::Kind::kAdmin, "admin", admin_server_->listeningFd()});
  }
  if (probes_server_ != nullptr && probes_server_->listeningFd() >= 0) {
    sockets.push_back({InheritedSockets::Kind::kAdmin, "probes", probes_server_->listeningFd()});
  }
  upgrader_.start(
      &loop_, binary, sockets, stateJson(state_),
      [this, respond = std::move(respond)](absl::StatusOr<int> pid) { upgradeDone(pid, respond); });
}

void Server::upgradeDone(const absl::StatusOr<int>& pid, const admin::Responder& respond) {
  if (!pid.ok()) {
    // Nothing changed here: the listeners, the state and the workers are as they were.
    core::logError("upgrade_failed",
                   {{"binary", upgrader_.binary()}, {"error", pid.status().message()}});
    respond(admin::errorReply(
        500, "upgrade failed, still serving: " + std::string(pid.status().message())));
    return;
  }
  handed_over_ = true;
  notifyMainPid(*pid);
  core::logInfo("upgrade_completed", {{"binary", upgrader_.binary()}, {"pid", *pid}});
  respond(
      admin::jsonReply(200, {{"upgraded", true}, {"pid", *pid}, {"binary", upgrader_.binary()}}));
  // The new process runs the rollouts from here on: this one must not step them meanwhile.
  rollouts_.close();
  if (admin_server_ != nullptr) admin_server_->stopListening();
  if (probes_server_ != nullptr) probes_server_->stopListening();
  beginShutdown("upgrade");
}

}  // namespace sy::proxy::control
