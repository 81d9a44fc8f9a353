#include "proxy/control/dns_follower.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "prometheus/registry.h"
#include "proxy/control/backend_change.h"

namespace sy::proxy::control {
namespace {

// Lookups that fail are retried this often (within the pool's interval bounds).
constexpr absl::Duration kRetryAfterFailure = absl::Seconds(5);
// How often due names are looked for: the resolution of a TTL.
constexpr uint64_t kTickMs = 100;

bool contains(const std::vector<core::NetAddress>& list, const core::NetAddress& address) {
  return std::find(list.begin(), list.end(), address) != list.end();
}

void erase(std::vector<core::NetAddress>& list, const core::NetAddress& address) {
  list.erase(std::remove(list.begin(), list.end(), address), list.end());
}

std::vector<std::string> texts(const std::vector<core::NetAddress>& list) {
  std::vector<std::string> out;
  for (const auto& address : list) out.push_back(address.toString());
  return out;
}

upstream::DnsResolver::Question question(const routing::config::BackendConfig& backend) {
  if (!backend.srv.empty()) return {.name = backend.srv, .srv = true};
  return {.name = backend.host, .port = backend.port};
}

}  // namespace

DnsFollower::DnsFollower(ControlState& state, Publisher& publisher, HealthWiring& health,
                         BackendAdmin& backend_admin)
    : state_(state),
      publisher_(publisher),
      health_(health),
      backend_admin_(backend_admin),
      resolutions_(prometheus::BuildCounter()
                       .Name("switchyard_dns_resolutions_total")
                       .Help("Background DNS lookups of the pools with resolve = true, by pool "
                             "and result (success, failure: the last good set is kept).")
                       .Register(state.metrics.registry())) {}

DnsFollower::~DnsFollower() { close(); }

absl::Status DnsFollower::prepare(const routing::config::Config& file) {
  SY_DCHECK_ON_CONTROL_THREAD();
  std::vector<std::pair<std::string, std::string>> keys;  // (pool, address_text)
  std::vector<upstream::DnsResolver::Question> lookups;
  for (const auto& pool : file.pools) {
    for (const auto& backend : pool.backends) {
      if (!backend.followed()) continue;
      const auto known = state_.followed.find(pool.name);
      if (known != state_.followed.end()) {
        const auto name = known->second.find(backend.address_text);
        if (name != known->second.end() && !name->second.addresses.empty()) continue;
      }
      keys.emplace_back(pool.name, backend.address_text);
      lookups.push_back(question(backend));
    }
  }
  if (lookups.empty()) return absl::OkStatus();
  std::vector<absl::StatusOr<upstream::DnsResolver::Answer>> answers =
      upstream::DnsResolver::resolveAll(lookups, file.server.dns_servers);
  for (size_t i = 0; i < answers.size(); ++i) {
    count(keys[i].first, answers[i].ok() ? "success" : "failure");
    if (!answers[i].ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pools[\"", keys[i].first, "\"].backends: cannot resolve ",
                       lookups[i].srv ? "the SRV record \"" : "\"", lookups[i].name,
                       "\": ", answers[i].status().message()));
    }
  }
  // Only once every name resolved, so that a refused configuration leaves nothing behind.
  for (size_t i = 0; i < answers.size(); ++i) {
    routing::FollowedName& name = state_.followed[keys[i].first][keys[i].second];
    name.addresses = answers[i]->addresses;
    name.weights = answers[i]->weights;
    core::logInfo("dns_resolved", {{"pool", keys[i].first},
                                   {"name", keys[i].second},
                                   {"addresses", texts(name.addresses)},
                                   {"ttl_seconds", absl::ToInt64Seconds(answers[i]->ttl)}});
  }
  return absl::OkStatus();
}

void DnsFollower::adopted(const routing::config::Config& file) {
  SY_DCHECK_ON_CONTROL_THREAD();
  std::set<std::pair<std::string, std::string>> in_file;
  const absl::Time now = absl::Now();
  for (const auto& pool : file.pools) {
    for (const auto& backend : pool.backends) {
      if (!backend.followed()) continue;
      const std::pair<std::string, std::string> id(pool.name, backend.address_text);
      in_file.insert(id);
      auto [it, added] = names_.try_emplace(id);
      Name& name = it->second;
      name.pool = pool.name;
      name.key = backend.address_text;
      name.question = question(backend);
      name.min_interval = pool.resolve_min_interval;
      name.max_interval = pool.resolve_max_interval;
      if (added) name.due = now + name.min_interval;
    }
  }
  for (auto it = names_.begin(); it != names_.end();) {
    it = in_file.count(it->first) != 0 ? std::next(it) : names_.erase(it);
  }
  for (auto pool = state_.followed.begin(); pool != state_.followed.end();) {
    for (auto name = pool->second.begin(); name != pool->second.end();) {
      name = in_file.count({pool->first, name->first}) != 0 ? std::next(name)
                                                            : pool->second.erase(name);
    }
    pool = pool->second.empty() ? state_.followed.erase(pool) : std::next(pool);
  }
  if (loop_ != nullptr && file.server.dns_servers != servers_) {
    // Lookups in flight on the old servers end unanswered; they are asked again.
    resolver_.reset();
    for (auto& [id, name] : names_) name.in_flight = false;
    servers_ = file.server.dns_servers;
    auto resolver = upstream::DnsResolver::create(loop_, servers_);
    if (resolver.ok()) {
      resolver_ = *std::move(resolver);
    } else {
      core::logError("dns_resolver_failed", {{"error", std::string(resolver.status().message())}});
    }
  }
}

absl::Status DnsFollower::start(uv_loop_t* loop) {
  SY_DCHECK_ON_CONTROL_THREAD();
  loop_ = loop;
  servers_ = state_.config->server.dns_servers;
  auto resolver = upstream::DnsResolver::create(loop_, servers_);
  if (!resolver.ok()) return resolver.status();
  resolver_ = *std::move(resolver);
  tick_ = new uv_timer_t{};
  uv_timer_init(loop_, tick_);
  tick_->data = this;
  uv_timer_start(tick_, onTick, kTickMs, kTickMs);
  return absl::OkStatus();
}

void DnsFollower::close() {
  resolver_.reset();
  if (tick_ != nullptr) {
    uv_timer_stop(tick_);
    uv_close(reinterpret_cast<uv_handle_t*>(tick_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
    tick_ = nullptr;
  }
  loop_ = nullptr;
}

void DnsFollower::onTick(uv_timer_t* timer) { static_cast<DnsFollower*>(timer->data)->lookUpDue(); }

void DnsFollower::lookUpDue() {
  if (resolver_ == nullptr || state_.shutting_down) return;
  const absl::Time now = absl::Now();
  for (auto& [id, name] : names_) {
    if (name.in_flight || name.due > now) continue;
    name.in_flight = true;
    resolver_->lookUp(name.question, [this, pool = name.pool, key = name.key](
                                         absl::StatusOr<upstream::DnsResolver::Answer> answer) {
      onAnswer(pool, key, std::move(answer));
    });
  }
}

void DnsFollower::onAnswer(const std::string& pool, const std::string& key,
                           absl::StatusOr<upstream::DnsResolver::Answer> answer) {
  auto it = names_.find({pool, key});
  if (it == names_.end()) return;  // a reload forgot the name meanwhile
  Name& name = it->second;
  name.in_flight = false;
  routing::FollowedName& followed = state_.followed[pool][key];
  const absl::Time now = absl::Now();
  count(pool, answer.ok() ? "success" : "failure");
  if (!answer.ok()) {
    name.due = now + std::clamp(kRetryAfterFailure, name.min_interval, name.max_interval);
    if (!name.failing) {
      core::logWarn("dns_resolution_failed", {{"pool", pool},
                                              {"name", key},
                                              {"error", std::string(answer.status().message())},
                                              {"kept", texts(followed.addresses)}});
    }
    name.failing = true;
    return;
  }
  if (name.failing) {
    core::logInfo("dns_resolution_recovered", {{"pool", pool}, {"name", key}});
    name.failing = false;
  }
  name.due = now + std::clamp(answer->ttl, name.min_interval, name.max_interval);
  if (state_.shutting_down) return;
  const std::vector<core::NetAddress>& fresh = answer->addresses;
  std::vector<core::NetAddress> added;
  std::vector<core::NetAddress> gone;
  for (const auto& address : fresh) {
    if (!contains(followed.addresses, address)) added.push_back(address);
  }
  for (const auto& address : followed.addresses) {
    if (!contains(fresh, address)) gone.push_back(address);
  }
  // An SRV record's weights: the addresses it still has take the new ones, those draining keep
  // theirs.
  std::vector<std::string> reweighted;
  std::map<std::string, uint32_t> weights = answer->weights;
  for (const auto& address : followed.addresses) {
    const std::string text = address.toString();
    const auto now_weight = weights.find(text);
    const auto old_weight = followed.weights.find(text);
    if (now_weight == weights.end() && old_weight != followed.weights.end()) {
      weights.insert(*old_weight);
    } else if (now_weight != weights.end() && old_weight != followed.weights.end() &&
               now_weight->second != old_weight->second) {
      reweighted.push_back(text);
    }
  }
  for (const auto& address : followed.draining) {
    const std::string text = address.toString();
    const auto now_weight = weights.find(text);
    const auto old_weight = followed.weights.find(text);
    if (old_weight == followed.weights.end()) continue;
    if (now_weight == weights.end()) {
      weights.insert(*old_weight);
    } else if (now_weight->second != old_weight->second) {
      reweighted.push_back(text);  // back from its drain with another weight
    }
  }
  if (added.empty() && gone.empty() && reweighted.empty()) return;
  followed.addresses = fresh;
  followed.weights = std::move(weights);
  core::ScopedLogFields by_dns({{"by", "dns"}, {"name", key}});
  for (const std::string& text : reweighted) {
    core::logInfo("backend_reweighted",
                  {{"pool", pool}, {"backend", text}, {"weight", followed.weights[text]}});
  }
  std::vector<std::string> published;
  for (const auto& address : added) {
    if (contains(followed.draining, address)) {
      // Back before its drain ended: it takes new requests again.
      erase(followed.draining, address);
      backend_admin_.setBackendAdmin(pool, address.toString(), routing::AdminState::kReady,
                                     absl::ZeroDuration(), admin::ChangeScope{},
                                     [](admin::Reply) {});
      continue;
    }
    core::logInfo("backend_added", {{"pool", pool}, {"backend", address.toString()}});
    published.push_back(address.toString());
  }
  if (!published.empty() || !reweighted.empty()) publish(pool, published);
  for (const auto& address : gone) drain(pool, key, address);
}

void DnsFollower::drain(const std::string& pool, const std::string& key,
                        const core::NetAddress& address) {
  // Another name of the pool may still have it: then it stays as it is.
  for (const auto& [other_key, other] : state_.followed[pool]) {
    if (other_key != key && contains(other.addresses, address)) return;
  }
  state_.followed[pool][key].draining.push_back(address);
  const std::string text = address.toString();
  backend_admin_.setBackendAdmin(
      pool, text, routing::AdminState::kDraining, kDrainWait, admin::ChangeScope{},
      [this, pool, key, address, text](admin::Reply drained) {
        auto name = state_.followed.find(pool);
        if (name == state_.followed.end() || name->second.count(key) == 0) return;
        std::vector<core::NetAddress>& draining = name->second[key].draining;
        if (!contains(draining, address)) return;  // back in DNS meanwhile
        erase(draining, address);
        if (!contains(name->second[key].addresses, address)) name->second[key].weights.erase(text);
        core::ScopedLogFields by_dns({{"by", "dns"}, {"name", key}});
        core::logInfo("backend_removed",
                      {{"pool", pool}, {"backend", text}, {"drained", drained.status == 200}});
        if (!state_.shutting_down) publish(pool, {});
      });
}

void DnsFollower::publish(const std::string& pool, const std::vector<std::string>& added) {
  std::vector<std::string> awaiting_check = adoptBackendChange(state_, health_, pool, added);
  publisher_.publish(state_.snapshot, [](const absl::Status&) {});
  for (const std::string& address : awaiting_check) health_.checkNow(pool, address);
}

void DnsFollower::count(const std::string& pool, const char* result) {
  resolutions_.Add({{"pool", pool}, {"result", result}}).Increment();
}

}  // namespace sy::proxy::control
