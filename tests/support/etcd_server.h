#pragma once

// A real etcd (Debian's etcd-server) for the fleet-mode tests: one member on free loopback
// ports (client, peer, and plain-HTTP metrics for /health), with its own data directory,
// started and stopped by the test (by PID); optionally with TLS, with auth, or as a member of
// a cluster on loopback.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {

class EtcdServer {
 public:
  // Client TLS: etcd serves https:// with `cert`/`key`; with `client_ca`, it asks for and
  // verifies client certificates (--client-cert-auth). etcdctl (put/get) uses `ctl_ca`,
  // `ctl_cert` and `ctl_key`.
  struct Tls {
    std::string cert;
    std::string key;
    std::string client_ca;
    std::string ctl_ca;
    std::string ctl_cert;
    std::string ctl_key;
  };

  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Whether /usr/bin/etcd (or etcd in PATH) exists: the tests skip without it.
  static bool available();

  // `size` members of one cluster (--initial-cluster naming them all), each on its own ports
  // and data. Start them with startCluster().
  static std::vector<std::unique_ptr<EtcdServer>> cluster(int size);
  // Starts every member, then waits, up to 30 s, until each answers /health (a leader
  // elected).
  static absl::Status startCluster(const std::vector<std::unique_ptr<EtcdServer>>& members);

  // Before start(): serve TLS.
  void useTls(Tls tls) { tls_ = std::move(tls); }

  // Starts it (again, on the same ports and data) and waits, up to 15 s, until it answers.
  absl::Status start();
  // SIGTERM, then SIGKILL after 5 s; waits for the exit.
  void stop();
  // SIGKILL at once, as a crashed machine; waits for the exit.
  void kill();
  bool running() const { return process_ != nullptr; }

  // "http://127.0.0.1:PORT" ("https://" with TLS).
  std::string clientUrl() const;
  // `etcdctl put KEY VALUE` / `etcdctl get --print-value-only KEY` (as root once auth is on).
  absl::Status put(const std::string& key, const std::string& value) const;
  std::optional<std::string> get(const std::string& key) const;
  // `etcdctl lease revoke` of every lease (`etcdctl lease list`): what happens to an instance's
  // lease when etcd stays out of its reach longer than the lease's TTL. The number revoked.
  absl::StatusOr<int> revokeAllLeases() const;
  // etcd auth: user root (`root_password`), and `user` (`password`) with a role that reads and
  // writes every key under `prefix` + "/"; then `etcdctl auth enable`. etcdctl runs as root
  // from then on.
  absl::Status enableAuth(const std::string& root_password, const std::string& user,
                          const std::string& password, const std::string& prefix);

 private:
  // Starts the process without waiting.
  absl::Status launch();
  // Waits until /health (on the plain metrics port) says true, or `timeout`.
  absl::Status waitHealthy(std::chrono::milliseconds timeout);
  // `etcdctl ARGS...` with this member's endpoint, TLS files and root user; its stdout lines.
  absl::StatusOr<std::vector<std::string>> etcdctl(std::vector<std::string> args) const;

  TempDir dir_;
  std::string name_ = "fleet-test";
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::string initial_cluster_;  // empty: this member alone
  std::optional<Tls> tls_;
  std::string root_password_;  // set: auth is on
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace sy::testing
