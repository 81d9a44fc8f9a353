#include "proxy/control/fleet_etcd_options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace sy::proxy::control {
namespace {

// A file curl will read at each new connection: unreadable now is an error now, not a
// disconnection later.
absl::Status readable(const char* key, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet.", key, ": cannot read \"", path, "\": ", std::strerror(errno)));
  }
  char first = 0;
  if (!file.get(first)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet.", key, ": \"", path, "\" is empty (expected PEM)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EtcdClient::Options> fleetEtcdOptions(const routing::config::FleetConfig& fleet) {
  EtcdClient::Options options;
  options.endpoints = fleet.etcd;
  options.timeout = fleet.request_timeout;
  for (const auto& [key, path] :
       {std::pair<const char*, const std::string&>{"ca_file", fleet.ca_file},
        {"cert_file", fleet.cert_file},
        {"key_file", fleet.key_file}}) {
    if (absl::Status status = readable(key, path); !status.ok()) return status;
  }
  options.ca_file = fleet.ca_file;
  options.cert_file = fleet.cert_file;
  options.key_file = fleet.key_file;
  options.server_name = fleet.server_name;
  if (!fleet.username.empty()) {
    const char* password =
        fleet.password_env.empty() ? nullptr : std::getenv(fleet.password_env.c_str());
    if (password == nullptr || *password == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(
          "fleet.password_env names ", fleet.password_env.empty() ? "\"\"" : fleet.password_env,
          ", which is not set (or empty) in the environment: the password of etcd user \"",
          fleet.username, "\""));
    }
    options.username = fleet.username;
    options.password = password;
  }
  return options;
}

}  // namespace sy::proxy::control
