#pragma once

// A real etcd (Debian's etcd-server) for the fleet-mode tests: one member on two free loopback
// ports, with its own data directory, started and stopped by the test (by PID).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {

class EtcdServer {
 public:
  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Whether /usr/bin/etcd (or etcd in PATH) exists: the tests skip without it.
  static bool available();

  // Starts it (again, on the same ports and data) and waits, up to 15 s, until it answers.
  absl::Status start();
  // SIGTERM, then SIGKILL after 5 s; waits for the exit.
  void stop();
  bool running() const { return process_ != nullptr; }

  // "http://127.0.0.1:PORT".
  std::string clientUrl() const;
  // `etcdctl put KEY VALUE` / `etcdctl get --print-value-only KEY`.
  absl::Status put(const std::string& key, const std::string& value) const;
  std::optional<std::string> get(const std::string& key) const;
  // `etcdctl lease revoke` of every lease (`etcdctl lease list`): what happens to an instance's
  // lease when etcd stays out of its reach longer than the lease's TTL. The number revoked.
  absl::StatusOr<int> revokeAllLeases() const;

 private:
  TempDir dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace sy::testing
