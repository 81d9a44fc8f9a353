#include "routing/traffic_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"

namespace sy::routing {
namespace {

RouteTraffic fromConfig(const config::RouteConfig& route) {
  RouteTraffic traffic;
  traffic.active = traffic.base_pool = route.pool;
  if (route.canary && route.canary->weight > 0) {
    traffic.canary_pool = traffic.base_canary_pool = route.canary->pool;
    traffic.canary_weight = traffic.base_canary_weight = route.canary->weight;
  }
  if (route.mirror && route.mirror->percent > 0) {
    traffic.mirror_pool = traffic.base_mirror_pool = route.mirror->pool;
    traffic.mirror_percent = traffic.base_mirror_percent = route.mirror->percent;
  }
  return traffic;
}

// Mirroring to the pool that serves the traffic anyway only doubles its load.
void dropMirrorOnActive(RouteTraffic& t) {
  if (t.mirror_pool == t.active) {
    t.mirror_pool.clear();
    t.mirror_percent = 0;
  }
}

bool sameBase(const RouteTraffic& a, const RouteTraffic& b) {
  return a.base_pool == b.base_pool && a.base_canary_pool == b.base_canary_pool &&
         a.base_canary_weight == b.base_canary_weight && a.base_mirror_pool == b.base_mirror_pool &&
         a.base_mirror_percent == b.base_mirror_percent;
}

bool poolsExist(const RouteTraffic& traffic, const config::Config& config) {
  return config.findPool(traffic.active) != nullptr &&
         (traffic.canary_pool.empty() || config.findPool(traffic.canary_pool) != nullptr) &&
         (traffic.mirror_pool.empty() || config.findPool(traffic.mirror_pool) != nullptr);
}

}  // namespace

std::vector<std::string> TrafficState::reconcile(const config::Config& config) {
  std::vector<std::string> dropped;
  std::map<std::string, RouteTraffic> next;
  local_routes_.clear();
  for (const config::RouteConfig& route : config.routes) {
    if (route.answersLocally()) {
      // No pool to switch, split or mirror: such a route has no traffic state.
      local_routes_.insert(route.name);
      continue;
    }
    RouteTraffic fresh = fromConfig(route);
    auto it = routes_.find(route.name);
    if (it != routes_.end() && it->second != fresh) {
      RouteTraffic kept = it->second;
      if (sameBase(kept, fresh) && poolsExist(kept, config)) {
        if (!kept.previous.empty() && config.findPool(kept.previous) == nullptr) {
          kept.previous.clear();
        }
        next[route.name] = kept;
        continue;
      }
      dropped.push_back(absl::StrCat("route ", route.name, ": runtime state (active ",
                                     it->second.active, ") replaced by the file's (pool ",
                                     route.pool, ")",
                                     sameBase(kept, fresh) ? " because a pool it names is gone"
                                                           : " because the file changed"));
    }
    next[route.name] = fresh;
  }
  routes_ = std::move(next);
  return dropped;
}

const RouteTraffic* TrafficState::find(const std::string& route) const {
  auto it = routes_.find(route);
  return it == routes_.end() ? nullptr : &it->second;
}

absl::StatusOr<RouteTraffic*> TrafficState::mutableRoute(const std::string& route) {
  auto it = routes_.find(route);
  if (it == routes_.end() && local_routes_.contains(route)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "route \"", route, "\" answers itself (redirect or respond) and has no pool to change"));
  }
  if (it == routes_.end())
    return absl::NotFoundError(absl::StrCat("unknown route \"", route, "\""));
  return &it->second;
}

absl::Status TrafficState::switchTo(const std::string& route, const std::string& pool,
                                    const config::Config& config) {
  auto traffic = mutableRoute(route);
  if (!traffic.ok()) return traffic.status();
  if (config.findPool(pool) == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown pool \"", pool, "\""));
  }
  RouteTraffic& t = **traffic;
  if (t.active == pool) return absl::OkStatus();  // already there: nothing to remember
  t.previous = t.active;
  t.active = pool;
  // Switching everything to the canary makes the canary moot.
  if (t.canary_pool == pool) {
    t.canary_pool.clear();
    t.canary_weight = 0;
  }
  dropMirrorOnActive(t);
  return absl::OkStatus();
}

absl::Status TrafficState::rollback(const std::string& route) {
  auto traffic = mutableRoute(route);
  if (!traffic.ok()) return traffic.status();
  RouteTraffic& t = **traffic;
  if (t.previous.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("route \"", route, "\" has no previous pool to roll back to"));
  }
  std::swap(t.active, t.previous);
  if (t.canary_pool == t.active) {
    t.canary_pool.clear();
    t.canary_weight = 0;
  }
  dropMirrorOnActive(t);
  return absl::OkStatus();
}

absl::Status TrafficState::setCanary(const std::string& route, const std::string& pool,
                                     double weight, const config::Config& config) {
  auto traffic = mutableRoute(route);
  if (!traffic.ok()) return traffic.status();
  if (!(weight >= 0 && weight <= 100)) {
    return absl::InvalidArgumentError("weight must be a number from 0 to 100");
  }
  RouteTraffic& t = **traffic;
  if (weight == 0) {  // ends the canary, whatever pool was named
    t.canary_pool.clear();
    t.canary_weight = 0;
    return absl::OkStatus();
  }
  if (config.findPool(pool) == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown pool \"", pool, "\""));
  }
  if (pool == t.active) {
    return absl::FailedPreconditionError(
        absl::StrCat("pool \"", pool, "\" is the route's active pool; name another pool"));
  }
  t.canary_pool = pool;
  t.canary_weight = weight;
  return absl::OkStatus();
}

absl::Status TrafficState::promote(const std::string& route) {
  auto traffic = mutableRoute(route);
  if (!traffic.ok()) return traffic.status();
  RouteTraffic& t = **traffic;
  if (t.canary_pool.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("route \"", route, "\" has no canary to promote"));
  }
  t.previous = t.active;
  t.active = t.canary_pool;
  t.canary_pool.clear();
  t.canary_weight = 0;
  dropMirrorOnActive(t);
  return absl::OkStatus();
}

absl::Status TrafficState::setMirror(const std::string& route, const std::string& pool,
                                     double percent, const config::Config& config) {
  auto traffic = mutableRoute(route);
  if (!traffic.ok()) return traffic.status();
  if (!(percent >= 0 && percent <= 100)) {
    return absl::InvalidArgumentError("percent must be a number from 0 to 100");
  }
  RouteTraffic& t = **traffic;
  if (percent == 0) {
    t.mirror_pool.clear();
    t.mirror_percent = 0;
    return absl::OkStatus();
  }
  if (config.findPool(pool) == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown pool \"", pool, "\""));
  }
  if (pool == t.active) {
    return absl::FailedPreconditionError(
        absl::StrCat("pool \"", pool, "\" is the route's active pool: mirror to another pool"));
  }
  t.mirror_pool = pool;
  t.mirror_percent = percent;
  return absl::OkStatus();
}

nlohmann::json TrafficState::toJson() const {
  nlohmann::json routes = nlohmann::json::object();
  for (const auto& [name, t] : routes_) {
    routes[name] = {{"active", t.active},
                    {"previous", t.previous},
                    {"canary_pool", t.canary_pool},
                    {"canary_weight", t.canary_weight},
                    {"mirror_pool", t.mirror_pool},
                    {"mirror_percent", t.mirror_percent},
                    {"base",
                     {{"pool", t.base_pool},
                      {"canary_pool", t.base_canary_pool},
                      {"canary_weight", t.base_canary_weight},
                      {"mirror_pool", t.base_mirror_pool},
                      {"mirror_percent", t.base_mirror_percent}}}};
  }
  return {{"version", 1}, {"routes", routes}};
}

absl::StatusOr<std::vector<std::string>> TrafficState::restore(const nlohmann::json& state,
                                                               const config::Config& config) {
  const auto version = state.is_object() ? state.find("version") : state.end();
  if (!state.is_object() || version == state.end() || !version->is_number_integer() ||
      *version != 1 || !state.contains("routes") || !state["routes"].is_object()) {
    return absl::InvalidArgumentError("not a Switchyard state file (version 1)");
  }
  // All or nothing: a malformed entry leaves every route as it was.
  std::map<std::string, RouteTraffic> accepted;
  try {
    for (const auto& [name, saved] : state["routes"].items()) {
      auto it = routes_.find(name);
      if (it == routes_.end()) continue;
      RouteTraffic candidate;
      candidate.active = saved.at("active").get<std::string>();
      candidate.previous = saved.value("previous", "");
      candidate.canary_pool = saved.value("canary_pool", "");
      candidate.canary_weight = saved.value("canary_weight", 0.0);
      candidate.mirror_pool = saved.value("mirror_pool", "");
      candidate.mirror_percent = saved.value("mirror_percent", 0.0);
      const nlohmann::json& base = saved.at("base");
      candidate.base_pool = base.at("pool").get<std::string>();
      candidate.base_canary_pool = base.value("canary_pool", "");
      candidate.base_canary_weight = base.value("canary_weight", 0.0);
      candidate.base_mirror_pool = base.value("mirror_pool", "");
      candidate.base_mirror_percent = base.value("mirror_percent", 0.0);
      if (!sameBase(candidate, it->second) || !poolsExist(candidate, config)) continue;
      if (!candidate.previous.empty() && config.findPool(candidate.previous) == nullptr) {
        candidate.previous.clear();
      }
      if (!(candidate.canary_weight >= 0 && candidate.canary_weight <= 100)) continue;
      if (!(candidate.mirror_percent >= 0 && candidate.mirror_percent <= 100)) continue;
      accepted[name] = candidate;
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed state file: ", e.what()));
  }
  std::vector<std::string> restored;
  for (auto& [name, traffic] : accepted) {
    routes_[name] = std::move(traffic);
    restored.push_back(name);
  }
  return restored;
}

absl::Status TrafficState::save(const std::string& path) const {
  return core::writeFileAtomically(path, toJson().dump(2) + "\n");
}

absl::StatusOr<nlohmann::json> TrafficState::readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json parsed = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, " is not JSON"));
  return parsed;
}

}  // namespace sy::routing
