#include "routing/backend_overlay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/net_address.h"

namespace sy::routing {
namespace {

using config::BackendConfig;
using config::Config;
using config::PoolConfig;

constexpr uint32_t kMaxWeight = 1000;  // as the file's `weight` (pool_schema.cc)

bool sameList(const std::vector<BackendConfig>& a, const std::vector<BackendConfig>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const BackendConfig& x, const BackendConfig& y) {
                      return x.address_text == y.address_text && x.weight == y.weight;
                    });
}

std::vector<BackendConfig>::iterator findBackend(std::vector<BackendConfig>& list,
                                                 const std::string& address) {
  return std::find_if(list.begin(), list.end(), [&](const BackendConfig& backend) {
    return backend.address_text == address || backend.address.toString() == address;
  });
}

absl::Status checkWeight(uint32_t weight) {
  if (weight < 1 || weight > kMaxWeight) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight must be an integer from 1 to ", kMaxWeight, ", got ", weight));
  }
  return absl::OkStatus();
}

nlohmann::json listJson(const std::vector<BackendConfig>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const BackendConfig& backend : list) {
    out.push_back({{"address", backend.address_text},
                   {"ip", backend.address.toString()},
                   {"weight", backend.weight}});
  }
  return out;
}

absl::StatusOr<std::vector<BackendConfig>> listFromJson(const nlohmann::json& json) {
  if (!json.is_array()) return absl::InvalidArgumentError("a backend list is not an array");
  std::vector<BackendConfig> list;
  for (const nlohmann::json& item : json) {
    if (!item.is_object() || !item.contains("address") || !item["address"].is_string() ||
        !item.contains("ip") || !item["ip"].is_string() || !item.contains("weight") ||
        !item["weight"].is_number_unsigned()) {
      return absl::InvalidArgumentError("a backend is not {address, ip, weight}");
    }
    auto address = core::NetAddress::parse(item["ip"].get<std::string>(), false);
    if (!address.ok()) return address.status();
    BackendConfig backend;
    backend.address_text = item["address"].get<std::string>();
    backend.address = *address;
    backend.weight = item["weight"].get<uint32_t>();
    if (absl::Status weight = checkWeight(backend.weight); !weight.ok()) return weight;
    list.push_back(std::move(backend));
  }
  return list;
}

}  // namespace

absl::StatusOr<BackendOverlay::PoolChange*> BackendOverlay::changeOf(const Config& file,
                                                                     const Config& in_force,
                                                                     const std::string& pool) {
  const PoolConfig* running = in_force.findPool(pool);
  if (running == nullptr) return absl::NotFoundError(absl::StrCat("unknown pool \"", pool, "\""));
  auto it = pools_.find(pool);
  if (it != pools_.end()) return &it->second;
  const PoolConfig* from_file = file.findPool(pool);
  PoolChange change;
  if (from_file != nullptr) change.base = from_file->backends;
  change.backends = running->backends;
  return &pools_.emplace(pool, std::move(change)).first->second;
}

absl::Status BackendOverlay::add(const Config& file, const Config& in_force,
                                 const std::string& pool, const std::string& address,
                                 uint32_t weight) {
  // Names are not resolved here: the control thread must not block on DNS.
  auto parsed = core::NetAddress::parse(address, /*resolve_names=*/false);
  if (!parsed.ok() || parsed->port() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address must be an IP address with a port (\"10.0.0.5:8080\", \"[::1]:8080\"), got \"",
        address, "\""));
  }
  if (absl::Status valid = checkWeight(weight); !valid.ok()) return valid;
  const PoolConfig* running = in_force.findPool(pool);
  if (running == nullptr) return absl::NotFoundError(absl::StrCat("unknown pool \"", pool, "\""));
  for (const BackendConfig& backend : running->backends) {
    if (backend.address.toString() == parsed->toString()) {
      return absl::AlreadyExistsError(
          absl::StrCat("pool \"", pool, "\" has backend ", backend.address_text, " already"));
    }
  }
  auto change = changeOf(file, in_force, pool);
  if (!change.ok()) return change.status();
  BackendConfig added;
  added.address_text = parsed->toString();
  added.address = *parsed;
  added.weight = weight;
  (*change)->backends.push_back(std::move(added));
  return absl::OkStatus();
}

absl::Status BackendOverlay::remove(const Config& file, const Config& in_force,
                                    const std::string& pool, const std::string& address) {
  auto change = changeOf(file, in_force, pool);
  if (!change.ok()) return change.status();
  std::vector<BackendConfig>& list = (*change)->backends;
  auto it = findBackend(list, address);
  if (it == list.end()) {
    return absl::NotFoundError(absl::StrCat("pool \"", pool, "\" has no backend ", address));
  }
  if (list.size() == 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("backend ", address, " is the last of pool \"", pool,
                     "\": a pool keeps at least one (add another first)"));
  }
  list.erase(it);
  return absl::OkStatus();
}

absl::Status BackendOverlay::reweight(const Config& file, const Config& in_force,
                                      const std::string& pool, const std::string& address,
                                      uint32_t weight) {
  if (absl::Status valid = checkWeight(weight); !valid.ok()) return valid;
  auto change = changeOf(file, in_force, pool);
  if (!change.ok()) return change.status();
  auto it = findBackend((*change)->backends, address);
  if (it == (*change)->backends.end()) {
    return absl::NotFoundError(absl::StrCat("pool \"", pool, "\" has no backend ", address));
  }
  it->weight = weight;
  return absl::OkStatus();
}

std::shared_ptr<const Config> BackendOverlay::apply(const Config& file,
                                                    std::vector<std::string>* notes) {
  auto result = std::make_shared<Config>(file);
  for (auto it = pools_.begin(); it != pools_.end();) {
    PoolConfig* pool = nullptr;
    for (PoolConfig& candidate : result->pools) {
      if (candidate.name == it->first) pool = &candidate;
    }
    if (pool == nullptr || !sameList(pool->backends, it->second.base)) {
      if (notes != nullptr) {
        notes->push_back(absl::StrCat(
            "pool \"", it->first, "\": the runtime backend changes are dropped because ",
            pool == nullptr ? "the pool is gone" : "its backends changed in the file"));
      }
      it = pools_.erase(it);
      continue;
    }
    pool->backends = it->second.backends;
    ++it;
  }
  return result;
}

nlohmann::json BackendOverlay::toJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [pool, change] : pools_) {
    out[pool] = {{"base", listJson(change.base)}, {"backends", listJson(change.backends)}};
  }
  return out;
}

absl::Status BackendOverlay::restore(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("\"pool_backends\" is not an object");
  std::map<std::string, PoolChange> restored;
  for (const auto& [pool, item] : json.items()) {
    if (!item.is_object() || !item.contains("base") || !item.contains("backends")) {
      return absl::InvalidArgumentError(absl::StrCat("pool \"", pool, "\": not {base, backends}"));
    }
    auto base = listFromJson(item["base"]);
    if (!base.ok()) return base.status();
    auto backends = listFromJson(item["backends"]);
    if (!backends.ok()) return backends.status();
    if (backends->empty()) return absl::InvalidArgumentError("a pool with no backend");
    restored[pool] = PoolChange{*std::move(base), *std::move(backends)};
  }
  pools_ = std::move(restored);
  return absl::OkStatus();
}

}  // namespace sy::routing
