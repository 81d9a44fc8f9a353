#pragma once

// The runtime traffic state of every route (active pool, previous pool, canary): what the admin
// API changes without a reload. Control thread only.
//
// The configuration file gives each route its starting point (`pool`, `canary`). Runtime changes
// are kept across a reload, and across a restart through the state file, for as long as that
// starting point is unchanged in the file: editing a route's `pool` or `canary` in the file
// declares a new intent and wins over earlier runtime changes. The same holds for `mirror`. A
// runtime state that names a pool the new file no longer defines is dropped too.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "routing/config/model.h"

namespace sy::routing {

struct RouteTraffic {
  std::string active;
  std::string previous;      // empty: nothing to roll back to
  std::string canary_pool;   // empty: no canary
  double canary_weight = 0;  // percent
  std::string mirror_pool;   // empty: no mirroring
  double mirror_percent = 0;

  // The configuration file's values this state grew from.
  std::string base_pool;
  std::string base_canary_pool;
  double base_canary_weight = 0;
  std::string base_mirror_pool;
  double base_mirror_percent = 0;

  friend bool operator==(const RouteTraffic&, const RouteTraffic&) = default;
};

class TrafficState {
 public:
  // Adopts `config`: routes whose starting point is unchanged keep their runtime state, others
  // start from the file, removed routes are forgotten. Returns one line per route whose runtime
  // state was dropped, for the log.
  std::vector<std::string> reconcile(const config::Config& config);

  const RouteTraffic* find(const std::string& route) const;
  const std::map<std::string, RouteTraffic>& routes() const { return routes_; }

  // Admin operations. Errors: NotFound (unknown route or pool), FailedPrecondition (nothing to
  // roll back, no canary to promote, canary on the active pool), InvalidArgument (weight).
  // `pool_exists` answers for the configuration in force.
  absl::Status switchTo(const std::string& route, const std::string& pool,
                        const config::Config& config);
  absl::Status rollback(const std::string& route);
  absl::Status setCanary(const std::string& route, const std::string& pool, double weight,
                         const config::Config& config);
  absl::Status promote(const std::string& route);
  // percent 0 stops mirroring (the pool may then be empty).
  absl::Status setMirror(const std::string& route, const std::string& pool, double percent,
                         const config::Config& config);

  // State file:
  // {"version":1,"routes":{NAME:{active,previous,canary_pool,canary_weight,base:{...}}}}
  nlohmann::json toJson() const;
  // Applies the routes of a state file whose starting point matches the current state's (call
  // after reconcile()). Returns the names of the routes restored.
  absl::StatusOr<std::vector<std::string>> restore(const nlohmann::json& state,
                                                   const config::Config& config);
  // Writes the state to `path` atomically: a temporary file in the same directory, fsync, rename.
  absl::Status save(const std::string& path) const;
  static absl::StatusOr<nlohmann::json> readFile(const std::string& path);

 private:
  absl::StatusOr<RouteTraffic*> mutableRoute(const std::string& route);

  std::set<std::string> local_routes_;  // routes that answer themselves: no traffic state
  std::map<std::string, RouteTraffic> routes_;
};

}  // namespace sy::routing
