#pragma once

// How this instance reaches etcd, from [fleet]: its endpoints and timeout, the TLS files, and
// the etcd user with the password read from the environment (password_env). A start and
// --check build them alike, so that an unreadable file or an unset variable fails the check
// that a unit runs before the start, naming the key.

#include "absl/status/statusor.h"
#include "proxy/control/etcd_client.h"
#include "routing/config/model.h"

namespace sy::proxy::control {

absl::StatusOr<EtcdClient::Options> fleetEtcdOptions(const routing::config::FleetConfig& fleet);

}  // namespace sy::proxy::control
