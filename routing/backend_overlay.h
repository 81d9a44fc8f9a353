#pragma once

// Backends added, removed and re-weighted at run time (the admin API's
// POST/PATCH/DELETE /admin/pools/POOL/backends): per pool, the complete list that replaces the
// configuration file's. The same rule as the traffic state (traffic_state.h) says how long it
// holds: for as long as the pool's `backends` in the file are what they were when the first
// runtime change was made. Editing them there declares a new intent and wins; removing the
// pool forgets its changes. Control thread only.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "routing/config/model.h"

namespace sy::routing {

class BackendOverlay {
 public:
  // Change pool `pool` of `in_force` (the configuration the workers run, the file's with this
  // overlay applied); `file` is the file's own, for the starting point. Errors: NotFound
  // (unknown pool or backend), AlreadyExists (a backend with that address), InvalidArgument
  // (address not an IP literal with a port, weight outside 1-1000), FailedPrecondition
  // (removing the pool's last backend).
  absl::Status add(const config::Config& file, const config::Config& in_force,
                   const std::string& pool, const std::string& address, uint32_t weight);
  absl::Status remove(const config::Config& file, const config::Config& in_force,
                      const std::string& pool, const std::string& address);
  absl::Status reweight(const config::Config& file, const config::Config& in_force,
                        const std::string& pool, const std::string& address, uint32_t weight);

  // `file` with the runtime lists in place of the file's. A pool whose list in the file changed
  // since (or that is gone) loses its runtime list: one line each in `notes`, for the log.
  std::shared_ptr<const config::Config> apply(const config::Config& file,
                                              std::vector<std::string>* notes);

  // State file: {POOL: {"base": [B...], "backends": [B...]}}, B = {"address", "ip", "weight"}
  // ("ip": the resolved "IP:port", so a restart resolves nothing).
  nlohmann::json toJson() const;
  absl::Status restore(const nlohmann::json& json);
  bool empty() const { return pools_.empty(); }

 private:
  struct PoolChange {
    std::vector<config::BackendConfig> base;      // the file's list when the first change came
    std::vector<config::BackendConfig> backends;  // the list in force
  };

  // The pool's change record, created from `file` and `in_force` at the first change.
  absl::StatusOr<PoolChange*> changeOf(const config::Config& file, const config::Config& in_force,
                                       const std::string& pool);

  std::map<std::string, PoolChange> pools_;
};

}  // namespace sy::routing
