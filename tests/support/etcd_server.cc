#include "tests/support/etcd_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

std::string etcdBinary(const char* name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/"}) {
    const std::string path = absl::StrCat(dir, name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

}  // namespace

EtcdServer::EtcdServer() : client_port_(unusedPort()), peer_port_(unusedPort()) {}

EtcdServer::~EtcdServer() { stop(); }

bool EtcdServer::available() {
  return !etcdBinary("etcd").empty() && !etcdBinary("etcdctl").empty();
}

std::string EtcdServer::clientUrl() const {
  return absl::StrCat("http://127.0.0.1:", client_port_);
}

absl::Status EtcdServer::start() {
  if (process_ != nullptr) return absl::OkStatus();
  const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port_);
  auto started = ChildProcess::start(
      {etcdBinary("etcd"), "--name", "fleet-test", "--data-dir", dir_.file("data"),
       "--listen-client-urls", clientUrl(), "--advertise-client-urls", clientUrl(),
       "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
       absl::StrCat("fleet-test=", peer), "--log-level", "warn"});
  if (!started.ok()) return started.status();
  process_ = *std::move(started);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<Response> health = httpGet(client_port_, "/health");
    if (health.has_value() && health->status == 200 &&
        health->body.find("true") != std::string::npos) {
      return absl::OkStatus();
    }
    if (!process_->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string output = process_->output();
  stop();
  return absl::UnavailableError(absl::StrCat("etcd did not become healthy:\n", output));
}

void EtcdServer::stop() {
  if (process_ == nullptr) return;
  process_->signal(SIGTERM);
  if (!process_->waitExit(std::chrono::seconds(5)).has_value()) {
    process_->signal(SIGKILL);
    process_->waitExit(std::chrono::seconds(5));
  }
  process_.reset();
}

absl::Status EtcdServer::put(const std::string& key, const std::string& value) const {
  auto etcdctl =
      ChildProcess::start({etcdBinary("etcdctl"), "--endpoints", clientUrl(), "put", key, value},
                          {{"ETCDCTL_API", "3"}});
  if (!etcdctl.ok()) return etcdctl.status();
  std::optional<int> exit = (*etcdctl)->waitExit(std::chrono::seconds(10));
  if (exit != 0) return absl::InternalError(absl::StrCat("etcdctl put: ", (*etcdctl)->output()));
  return absl::OkStatus();
}

std::optional<std::string> EtcdServer::get(const std::string& key) const {
  auto etcdctl = ChildProcess::start(
      {etcdBinary("etcdctl"), "--endpoints", clientUrl(), "get", "--print-value-only", key},
      {{"ETCDCTL_API", "3"}});
  if (!etcdctl.ok()) return std::nullopt;
  if ((*etcdctl)->waitExit(std::chrono::seconds(10)) != 0) return std::nullopt;
  std::vector<std::string> lines = (*etcdctl)->stdoutLines();
  if (lines.empty()) return std::nullopt;
  return lines.front();
}

absl::StatusOr<int> EtcdServer::revokeAllLeases() const {
  auto list = ChildProcess::start(
      {etcdBinary("etcdctl"), "--endpoints", clientUrl(), "lease", "list"}, {{"ETCDCTL_API", "3"}});
  if (!list.ok()) return list.status();
  if ((*list)->waitExit(std::chrono::seconds(10)) != 0) {
    return absl::InternalError(absl::StrCat("etcdctl lease list: ", (*list)->output()));
  }
  int revoked = 0;
  // "found N leases", then one lease id (hex) per line.
  for (const std::string& line : (*list)->stdoutLines()) {
    if (line.empty() || absl::StartsWith(line, "found")) continue;
    auto revoke = ChildProcess::start(
        {etcdBinary("etcdctl"), "--endpoints", clientUrl(), "lease", "revoke", line},
        {{"ETCDCTL_API", "3"}});
    if (!revoke.ok()) return revoke.status();
    if ((*revoke)->waitExit(std::chrono::seconds(10)) != 0) {
      return absl::InternalError(absl::StrCat("etcdctl lease revoke: ", (*revoke)->output()));
    }
    ++revoked;
  }
  return revoked;
}

}  // namespace sy::testing
