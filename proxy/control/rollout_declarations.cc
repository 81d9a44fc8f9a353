#include "proxy/control/rollout_declarations.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/thread_role.h"
#include "proxy/control/rollout_controller.h"
#include "proxy/control/rollout_spec.h"

namespace sy::proxy::control {
namespace {

using routing::config::Config;
using routing::config::ConfigError;
using routing::config::RolloutDeclarationConfig;

// The route a declaration names; with none, the configuration's only route (as the admin API).
std::string defaultRoute(const Config& config) {
  return config.routes.size() == 1 ? config.routes.front().name : "";
}

ConfigError errorAt(const Config& config, const RolloutDeclarationConfig& declaration,
                    const std::string& field, const std::string& message) {
  // "steps[1].weight" is placed at the key it starts with, "steps".
  const std::string top = field.substr(0, field.find_first_of(".["));
  auto it = declaration.key_positions.find(top);
  const routing::config::SourcePosition where =
      it != declaration.key_positions.end() ? it->second : declaration.position;
  return ConfigError{
      .file = config.path,
      .line = where.line,
      .column = where.column,
      .key = field.empty() ? declaration.key : absl::StrCat(declaration.key, ".", field),
      .message = message};
}

}  // namespace

std::vector<ConfigError> checkDeclaredRollouts(const Config& config) {
  std::vector<ConfigError> errors;
  std::set<std::string> routes;
  for (const RolloutDeclarationConfig& declaration : config.rollouts) {
    absl::StatusOr<RolloutSpec> spec =
        parseRolloutSpec(nlohmann::json::parse(declaration.spec_json), defaultRoute(config));
    if (!spec.ok()) {
      // The parser's messages are "field: what it must be".
      const std::string message(spec.status().message());
      const size_t colon = message.find(": ");
      const std::string field = colon == std::string::npos ? "" : message.substr(0, colon);
      const std::string what = colon == std::string::npos ? message : message.substr(colon + 2);
      errors.push_back(errorAt(config, declaration, field == "body" ? "" : field, what));
      continue;
    }
    if (spec->route.empty()) {
      errors.push_back(
          errorAt(config, declaration, "route", "the configuration has several routes; name one"));
      continue;
    }
    const routing::config::RouteConfig* route = nullptr;
    for (const auto& candidate : config.routes) {
      if (candidate.name == spec->route) route = &candidate;
    }
    if (route == nullptr) {
      errors.push_back(errorAt(config, declaration, "route",
                               absl::StrCat("no [[routes]] table is named \"", spec->route, "\"")));
      continue;
    }
    if (config.findPool(spec->pool) == nullptr) {
      errors.push_back(errorAt(config, declaration, "pool",
                               absl::StrCat("no [[pools]] table is named \"", spec->pool, "\"")));
      continue;
    }
    if (spec->kind == RolloutKind::kCanary && spec->pool == route->pool) {
      errors.push_back(errorAt(config, declaration, "pool",
                               absl::StrCat("\"", spec->pool, "\" is route \"", spec->route,
                                            "\"'s own pool: a rollout moves traffic to another")));
      continue;
    }
    if (!routes.insert(spec->route).second) {
      errors.push_back(errorAt(config, declaration, "route",
                               absl::StrCat("route \"", spec->route,
                                            "\" has another [[rollouts]] table: one per route")));
    }
  }
  return errors;
}

void addDeclaredRolloutErrors(routing::config::LoadResult& loaded) {
  if (!loaded.ok()) return;
  loaded.errors = checkDeclaredRollouts(*loaded.config);
  if (!loaded.errors.empty()) loaded.config.reset();
}

void RolloutController::startDeclared() {
  SY_DCHECK_ON_CONTROL_THREAD();
  if (state_.shutting_down || loop_ == nullptr) return;
  if (!leading_) return;  // fleet mode: the leader starts them, once elected
  const std::string default_route = defaultRoute(*state_.config);
  for (const RolloutDeclarationConfig& declaration : state_.config->rollouts) {
    absl::StatusOr<RolloutSpec> spec =
        parseRolloutSpec(nlohmann::json::parse(declaration.spec_json), default_route);
    if (!spec.ok()) continue;  // checkDeclaredRollouts refused such a file already
    const std::string route = spec->route;
    auto skip = [&](const std::string& why) {
      core::logInfo("rollout_declared_not_started",
                    {{"route", route}, {"pool", spec->pool}, {"why", why}});
    };
    auto existing = rollouts_.find(route);
    if (existing != rollouts_.end()) {
      const Rollout& rollout = existing->second->rollout;
      // The same spec ran (or runs) already: a restart or reload must not run it again.
      if (rollout.spec().toJson() == spec->toJson()) continue;
      if (rollout.running()) {
        skip("another rollout runs on the route; it is left alone");
        continue;
      }
    }
    const routing::RouteTraffic* traffic = state_.traffic.find(route);
    if (traffic != nullptr && traffic->active == spec->pool) {
      skip("the pool is the route's active pool already");
      continue;
    }
    core::logInfo("rollout_declared_starting", {{"route", route}, {"pool", spec->pool}});
    create(nlohmann::json::parse(declaration.spec_json), default_route, admin::ChangeScope{},
           [route](admin::Reply reply) {
             if (reply.status != 201) {
               core::logWarn("rollout_declared_failed", {{"route", route}, {"reply", reply.body}});
             }
           });
  }
}

}  // namespace sy::proxy::control
