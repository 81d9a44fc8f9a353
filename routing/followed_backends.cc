#include "routing/followed_backends.h"

#include <algorithm>

namespace sy::routing {
namespace {

bool listed(const std::vector<config::BackendConfig>& backends, const core::NetAddress& address) {
  return std::any_of(backends.begin(), backends.end(),
                     [&](const config::BackendConfig& b) { return b.address == address; });
}

}  // namespace

std::shared_ptr<const config::Config> expandFollowedBackends(const config::Config& config,
                                                             const FollowedBackends& followed) {
  auto out = std::make_shared<config::Config>(config);
  for (config::PoolConfig& pool : out->pools) {
    if (!pool.followsDns()) continue;
    const auto names = followed.find(pool.name);
    std::vector<config::BackendConfig> expanded;
    for (const config::BackendConfig& backend : pool.backends) {
      if (!backend.followed()) {
        if (!listed(expanded, backend.address)) expanded.push_back(backend);
        continue;
      }
      if (names == followed.end()) continue;
      const auto name = names->second.find(backend.address_text);
      if (name == names->second.end()) continue;
      for (const auto* list : {&name->second.addresses, &name->second.draining}) {
        for (const core::NetAddress& address : *list) {
          if (listed(expanded, address)) continue;
          config::BackendConfig one;
          one.address_text = address.toString();
          one.address = address;
          const auto srv_weight = name->second.weights.find(one.address_text);
          one.weight =
              srv_weight != name->second.weights.end() ? srv_weight->second : backend.weight;
          one.position = backend.position;
          expanded.push_back(std::move(one));
        }
      }
    }
    pool.backends = std::move(expanded);
  }
  return out;
}

}  // namespace sy::routing
