#include "health/backend_state_table.h"

#include "absl/strings/str_cat.h"

namespace sy::health {

using routing::AdminState;
using routing::HealthState;

std::string BackendStateTable::key(std::string_view pool, std::string_view address) {
  return absl::StrCat(core::toAbsl(pool), "\n", core::toAbsl(address));
}

void BackendStateTable::reconcile(const routing::config::Config& config) {
  core::StringMap<BackendRecord> next;
  core::StringMap<bool> checked;
  for (const auto& pool : config.pools) {
    const bool has_check = pool.health_check.has_value();
    auto was = pool_checked_.find(pool.name);
    const bool check_changed = was == pool_checked_.end() || was->second != has_check;
    checked[pool.name] = has_check;
    for (const auto& backend : pool.backends) {
      const std::string k = key(pool.name, backend.address_text);
      BackendRecord record;
      if (auto it = records_.find(k); it != records_.end()) record = it->second;
      record.pool = pool.name;
      record.address = backend.address_text;
      const bool fresh = records_.find(k) == records_.end();
      if (fresh || check_changed) {
        record.health = has_check ? HealthState::kUnknown : HealthState::kUnchecked;
        record.counters = {};
        record.last_check = absl::InfinitePast();
        record.last_error.clear();
      }
      next[k] = std::move(record);
    }
    touch(pool.name);
  }
  records_.swap(next);
  pool_checked_.swap(checked);
}

BackendRecord* BackendStateTable::find(std::string_view pool, std::string_view address) {
  auto it = records_.find(key(pool, address));
  return it == records_.end() ? nullptr : &it->second;
}

const BackendRecord* BackendStateTable::find(std::string_view pool,
                                             std::string_view address) const {
  auto it = records_.find(key(pool, address));
  return it == records_.end() ? nullptr : &it->second;
}

std::vector<BackendRecord*> BackendStateTable::poolBackends(std::string_view pool) {
  std::vector<BackendRecord*> out;
  for (auto& [k, record] : records_) {
    if (record.pool == pool) out.push_back(&record);
  }
  return out;
}

bool BackendStateTable::hasPool(std::string_view pool) const {
  return pool_checked_.find(pool) != pool_checked_.end();
}

void BackendStateTable::touch(std::string_view pool) {
  versions_[std::string(pool)] = next_version_++;
}

routing::BackendRuntime BackendStateTable::stateOf(std::string_view pool,
                                                   std::string_view address) const {
  routing::BackendRuntime runtime;
  if (const BackendRecord* record = find(pool, address)) {
    runtime.health = record->health;
    runtime.admin = record->admin;
    runtime.ejected = record->ejected;
    runtime.awaiting_check = record->awaiting_check;
  }
  return runtime;
}

uint64_t BackendStateTable::poolVersion(std::string_view pool) const {
  auto it = versions_.find(pool);
  return it == versions_.end() ? 0 : it->second;
}

nlohmann::json BackendStateTable::adminStatesJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, record] : records_) {
    if (record.admin == AdminState::kReady) continue;
    out[record.pool][record.address] = routing::adminStateName(record.admin);
  }
  return out;
}

void BackendStateTable::restoreAdminStates(const nlohmann::json& states) {
  if (!states.is_object()) return;
  for (const auto& [pool, backends] : states.items()) {
    if (!backends.is_object()) continue;
    for (const auto& [address, state] : backends.items()) {
      BackendRecord* record = find(pool, address);
      if (record == nullptr || !state.is_string()) continue;
      const std::string name = state.get<std::string>();
      if (name == "draining") {
        record->admin = AdminState::kDraining;
      } else if (name == "disabled") {
        record->admin = AdminState::kDisabled;
      } else {
        continue;
      }
      touch(pool);
    }
  }
}

}  // namespace sy::health
