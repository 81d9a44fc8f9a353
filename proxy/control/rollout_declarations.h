#pragma once

// Rollouts declared in the configuration file ([[rollouts]] tables, the fields of a
// POST /admin/rollouts body): checked with the file (at start, at reload, by --check) and
// started once the configuration is in force (RolloutController::startDeclared).

#include <vector>

#include "routing/config/model.h"
#include "routing/config/toml_loader.h"

namespace sy::proxy::control {

// The errors of config.rollouts, placed at the key they name: a spec the rollout parser
// refuses, an unknown route or pool, a canary that is the route's own pool, two rollouts for
// one route. Empty when every declaration can start.
std::vector<routing::config::ConfigError> checkDeclaredRollouts(
    const routing::config::Config& config);

// `loaded` with the rollout errors added (the configuration dropped when there are any).
void addDeclaredRolloutErrors(routing::config::LoadResult& loaded);

}  // namespace sy::proxy::control
