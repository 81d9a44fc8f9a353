#pragma once

// The hot upgrade's channel: a UNIX socketpair (SOCK_SEQPACKET, so each message arrives whole)
// between the running process and the new one it started, whose end the new process finds in
// $SWITCHYARD_UPGRADE_FD. Every message is a JSON object; descriptors travel with SCM_RIGHTS.
//
//   old -> new  {"socket": {"kind": "listener"|"admin", "name": NAME}}  + the listening socket,
//               one message per socket (a listener has one per worker)
//   old -> new  {"state": STATE}  the state file's JSON (proxy/control/state_file.h); last
//   new -> old  {"ready": true, "pid": PID}  once every worker accepts, or
//               {"ready": false, "error": WHY}  when it cannot start (it exits then)

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proxy/inherited_sockets.h"

namespace sy::proxy::control {

inline constexpr const char* kUpgradeFdVariable = "SWITCHYARD_UPGRADE_FD";

struct ChannelMessage {
  nlohmann::json body;
  std::vector<int> fds;  // owned by the receiver
};

// Blocking; the channel is a local socketpair and the messages are small.
absl::Status sendChannelMessage(int channel, const nlohmann::json& body,
                                const std::vector<int>& fds = {});
// Waits up to `timeout_ms` for one message; an error on timeout or when the peer closed.
absl::StatusOr<ChannelMessage> receiveChannelMessage(int channel, int timeout_ms);

// The new process's side: reads the sockets into `sockets` and returns the state.
absl::StatusOr<nlohmann::json> receiveHandoff(int channel, InheritedSockets* sockets);

}  // namespace sy::proxy::control
