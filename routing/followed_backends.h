#pragma once

// The backends of pools that follow DNS (`resolve = true`): what each name resolved to last,
// and the configuration in force with one backend per address in place of the name.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/net_address.h"
#include "routing/config/model.h"

namespace sy::routing {

struct FollowedName {
  // The last good answer (ports set to the configured one), sorted.
  std::vector<core::NetAddress> addresses;
  // Addresses gone from the answer, kept as backends while they drain (no new requests).
  std::vector<core::NetAddress> draining;
  // An SRV record's weights by address text (of `addresses` and `draining`); an address not
  // here has the weight of its backends entry.
  std::map<std::string, uint32_t> weights;
};

// Pool name -> a named backend's address_text ("api.internal:8080", or the SRV record's name
// "_http._tcp.api.internal") -> its addresses.
using FollowedBackends = std::map<std::string, std::map<std::string, FollowedName>>;

// `config` with every named backend of a following pool replaced by one backend per address
// (address_text "IP:port", the SRV record's weight or else the name's). An address that two names
// share is one backend.
std::shared_ptr<const config::Config> expandFollowedBackends(const config::Config& config,
                                                             const FollowedBackends& followed);

}  // namespace sy::routing
