#pragma once

// The fleet's rollout figures (issue 21): a rollout's leader decides from what the WHOLE fleet
// served, not only from its own workers. While a rollout runs, each instance publishes the
// cumulative counters (responses by status class, latency histogram) of the pools it watches
// under PREFIX/figures/ID, bound to its lease, every half analysis interval. Every instance
// follows the others' keys and adds up, per (route, pool), what each of them served since
// the previous publish: a running total that only grows, which the rollout controller adds to
// its own workers' counters before taking the difference of one window.
//
// A publisher's first figures, figures after a gap longer than three publish periods (it was
// cut off, or this instance was), or a key that came back after a reconnect count as a new
// starting point, not as traffic: an old total would otherwise land in one window. A counter
// that went down (the instance restarted) counts from zero. A dead instance's key goes with its
// lease. Control thread only.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "core/uv_handle.h"
#include "nlohmann/json.hpp"
#include "proxy/control/fleet_sync.h"
#include "proxy/control/rollout_analysis.h"

namespace sy::proxy::control {

class FleetFigures {
 public:
  // (route, pool) -> cumulative figures.
  using Readings = std::map<std::pair<std::string, std::string>, PoolReading>;

  explicit FleetFigures(FleetSync& fleet);
  FleetFigures(const FleetFigures&) = delete;
  FleetFigures& operator=(const FleetFigures&) = delete;

  // `local`: this instance's figures of the pools the running rollouts watch; `period_ms`:
  // how often to publish them, 0 while no rollout runs (nothing is published then).
  void setSource(std::function<Readings()> local, std::function<uint64_t()> period_ms) {
    local_ = std::move(local);
    period_ms_ = std::move(period_ms);
  }
  void start(uv_loop_t* loop);
  void close();

  // Adds to `reading` what the other instances served on (route, pool) since this instance
  // follows them.
  void addOthers(const std::string& route, const std::string& pool, PoolReading* reading) const;
  // Added to the "fleet" object of /admin/status: "figures", the instances whose figures count.
  void addStatus(nlohmann::json& fleet) const;

  static nlohmann::json toJson(const Readings& readings);
  static Readings fromJson(const nlohmann::json& json);

 private:
  struct Source {
    Readings last;
    uint64_t received_ms = 0;  // uv_now when its figures last came
  };
  std::string prefix() const { return fleet_.config().prefix + "/figures/"; }
  void tick();
  void publish();
  void onKey(const std::string& id, const nlohmann::json& kv, bool deleted);
  uint64_t staleAfterMs() const;

  FleetSync& fleet_;
  std::function<Readings()> local_;
  std::function<uint64_t()> period_ms_;
  uv_loop_t* loop_ = nullptr;
  core::UvHandle<uv_timer_t> timer_;
  bool closed_ = false;
  bool publishing_ = false;
  uint64_t published_ms_ = 0;
  std::map<std::string, Source> sources_;  // by instance id, this one excluded
  Readings others_;                        // the running totals of the others
};

}  // namespace sy::proxy::control
