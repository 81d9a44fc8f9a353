#include "tests/support/etcd_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

EtcdServer::EtcdServer()
    : client_port_(unusedPort()), peer_port_(unusedPort()), metrics_port_(unusedPort()) {}

EtcdServer::~EtcdServer() { stop(); }

bool EtcdServer::available() {
  return !etcdBinary("etcd").empty() && !etcdBinary("etcdctl").empty();
}

std::vector<std::unique_ptr<EtcdServer>> EtcdServer::cluster(int size) {
  std::vector<std::unique_ptr<EtcdServer>> members;
  std::vector<std::string> peers;
  for (int i = 0; i < size; ++i) {
    members.push_back(std::make_unique<EtcdServer>());
    members.back()->name_ = absl::StrCat("fleet-member-", i + 1);
    peers.push_back(
        absl::StrCat(members.back()->name_, "=http://127.0.0.1:", members.back()->peer_port_));
  }
  for (auto& member : members) member->initial_cluster_ = absl::StrJoin(peers, ",");
  return members;
}

absl::Status EtcdServer::startCluster(const std::vector<std::unique_ptr<EtcdServer>>& members) {
  // All first: a member is healthy only once a majority is up and elected a leader.
  for (const auto& member : members) {
    if (absl::Status launched = member->launch(); !launched.ok()) return launched;
  }
  for (const auto& member : members) {
    if (absl::Status healthy = member->waitHealthy(std::chrono::seconds(30)); !healthy.ok()) {
      return healthy;
    }
  }
  return absl::OkStatus();
}

std::string EtcdServer::clientUrl() const {
  return absl::StrCat(tls_.has_value() ? "https" : "http", "://127.0.0.1:", client_port_);
}

absl::Status EtcdServer::launch() {
  if (process_ != nullptr) return absl::OkStatus();
  const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port_);
  std::vector<std::string> argv = {
      etcdBinary("etcd"), "--name", name_, "--data-dir", dir_.file("data"), "--listen-client-urls",
      clientUrl(), "--advertise-client-urls", clientUrl(), "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--listen-metrics-urls",
      absl::StrCat("http://127.0.0.1:", metrics_port_), "--initial-cluster",
      initial_cluster_.empty() ? absl::StrCat(name_, "=", peer) : initial_cluster_,
      "--initial-cluster-token",
      // One token for every member of a cluster (members with different tokens never join).
      absl::StrCat("fleet-test-", initial_cluster_.empty()
                                      ? std::hash<std::string>{}(name_ + std::to_string(peer_port_))
                                      : std::hash<std::string>{}(initial_cluster_)),
      "--log-level", "warn"};
  if (tls_.has_value()) {
    for (const std::string& arg :
         {std::string("--cert-file"), tls_->cert, std::string("--key-file"), tls_->key}) {
      argv.push_back(arg);
    }
    if (!tls_->client_ca.empty()) {
      for (const std::string& arg :
           {std::string("--trusted-ca-file"), tls_->client_ca, std::string("--client-cert-auth")}) {
        argv.push_back(arg);
      }
    }
  }
  auto started = ChildProcess::start(argv);
  if (!started.ok()) return started.status();
  process_ = *std::move(started);
  return absl::OkStatus();
}

absl::Status EtcdServer::waitHealthy(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_ != nullptr && std::chrono::steady_clock::now() < deadline) {
    std::optional<Response> health = httpGet(metrics_port_, "/health");
    if (health.has_value() && health->status == 200 &&
        health->body.find("true") != std::string::npos) {
      return absl::OkStatus();
    }
    if (!process_->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string output = process_ != nullptr ? process_->output() : "";
  stop();
  return absl::UnavailableError(absl::StrCat("etcd ", name_, " did not become healthy:\n", output));
}

absl::Status EtcdServer::start() {
  if (process_ != nullptr) return absl::OkStatus();
  if (absl::Status launched = launch(); !launched.ok()) return launched;
  // A member of a cluster alone cannot elect a leader: it rejoins the running ones.
  return waitHealthy(std::chrono::seconds(initial_cluster_.empty() ? 15 : 30));
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

void EtcdServer::kill() {
  if (process_ == nullptr) return;
  process_->signal(SIGKILL);
  process_->waitExit(std::chrono::seconds(10));
  process_.reset();
}

absl::StatusOr<std::vector<std::string>> EtcdServer::etcdctl(std::vector<std::string> args) const {
  std::vector<std::string> argv = {etcdBinary("etcdctl"), "--endpoints", clientUrl()};
  if (tls_.has_value()) {
    for (const auto& [flag, file] : {std::pair<std::string, std::string>{"--cacert", tls_->ctl_ca},
                                     {"--cert", tls_->ctl_cert},
                                     {"--key", tls_->ctl_key}}) {
      if (file.empty()) continue;
      argv.push_back(flag);
      argv.push_back(file);
    }
  }
  if (!root_password_.empty()) {
    argv.push_back("--user");
    argv.push_back(absl::StrCat("root:", root_password_));
  }
  for (std::string& arg : args) argv.push_back(std::move(arg));
  auto run = ChildProcess::start(argv, {{"ETCDCTL_API", "3"}});
  if (!run.ok()) return run.status();
  if ((*run)->waitExit(std::chrono::seconds(10)) != 0) {
    return absl::InternalError(
        absl::StrCat("etcdctl ", absl::StrJoin(args, " "), ": ", (*run)->output()));
  }
  return (*run)->stdoutLines();
}

absl::Status EtcdServer::put(const std::string& key, const std::string& value) const {
  return etcdctl({"put", key, value}).status();
}

std::optional<std::string> EtcdServer::get(const std::string& key) const {
  absl::StatusOr<std::vector<std::string>> lines = etcdctl({"get", "--print-value-only", key});
  if (!lines.ok() || lines->empty()) return std::nullopt;
  return lines->front();
}

absl::StatusOr<int> EtcdServer::revokeAllLeases() const {
  absl::StatusOr<std::vector<std::string>> list = etcdctl({"lease", "list"});
  if (!list.ok()) return list.status();
  int revoked = 0;
  // "found N leases", then one lease id (hex) per line.
  for (const std::string& line : *list) {
    if (line.empty() || absl::StartsWith(line, "found")) continue;
    if (absl::Status status = etcdctl({"lease", "revoke", line}).status(); !status.ok()) {
      return status;
    }
    ++revoked;
  }
  return revoked;
}

absl::Status EtcdServer::enableAuth(const std::string& root_password, const std::string& user,
                                    const std::string& password, const std::string& prefix) {
  const std::string role = absl::StrCat(user, "-role");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"user", "add", absl::StrCat("root:", root_password)},
           {"role", "add", role},
           {"role", "grant-permission", role, "--prefix=true", "readwrite", prefix + "/"},
           {"user", "add", absl::StrCat(user, ":", password)},
           {"user", "grant-role", user, role},
           {"auth", "enable"},
       }) {
    if (absl::Status status = etcdctl(args).status(); !status.ok()) return status;
  }
  root_password_ = root_password;
  return absl::OkStatus();
}

}  // namespace sy::testing
