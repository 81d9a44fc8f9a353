#pragma once

// Pools with `resolve = true` follow DNS (issue 20): every address a backend's name resolves to
// is a backend (for an SRV record: every address of its targets, with their ports and weights);
// the name is re-resolved in the background when its TTL (clamped to the pool's
// resolve_min_interval and resolve_max_interval) runs out. New addresses are published at
// once (in a checked pool they take traffic after their first passing check); addresses gone
// from the answer are drained (no new requests, up to kDrainWait for those in flight), then
// removed. A failed lookup keeps the last good set. Control thread only.

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "proxy/control/backend_admin.h"
#include "proxy/control/control_state.h"
#include "proxy/control/health_wiring.h"
#include "proxy/control/publisher.h"
#include "upstream/dns_resolver.h"

namespace sy::proxy::control {

class DnsFollower {
 public:
  // How long an address gone from DNS drains before it is removed regardless.
  static constexpr absl::Duration kDrainWait = absl::Seconds(10);

  DnsFollower(ControlState& state, Publisher& publisher, HealthWiring& health,
              BackendAdmin& backend_admin);
  ~DnsFollower();
  DnsFollower(const DnsFollower&) = delete;
  DnsFollower& operator=(const DnsFollower&) = delete;

  // Before `file` is adopted (start, reload): resolves, blocking, the names it follows that are
  // not followed yet. An error (a name that does not resolve) refuses the configuration; then
  // nothing changed. Names followed already keep their addresses.
  absl::Status prepare(const routing::config::Config& file);
  // After `file` is in force: forgets the names it no longer has and schedules the new ones.
  void adopted(const routing::config::Config& file);
  // Starts the background re-resolution on the control loop.
  absl::Status start(uv_loop_t* loop);
  void close();

 private:
  struct Name {
    std::string pool;
    std::string key;  // the backend's address_text, "name:port" or the SRV record's name
    upstream::DnsResolver::Question question;
    absl::Duration min_interval;
    absl::Duration max_interval;
    absl::Time due;
    bool in_flight = false;
    bool failing = false;  // the last lookup failed (logged once per run of failures)
  };

  static void onTick(uv_timer_t* timer);
  void lookUpDue();
  void onAnswer(const std::string& pool, const std::string& key,
                absl::StatusOr<upstream::DnsResolver::Answer> answer);
  // Publishes the configuration with the followed addresses as they are now.
  void publish(const std::string& pool, const std::vector<std::string>& added);
  void drain(const std::string& pool, const std::string& key, const core::NetAddress& address);
  void count(const std::string& pool, const char* result);

  ControlState& state_;
  Publisher& publisher_;
  HealthWiring& health_;
  BackendAdmin& backend_admin_;
  std::map<std::pair<std::string, std::string>, Name> names_;  // (pool, key)
  std::vector<std::string> servers_;
  uv_loop_t* loop_ = nullptr;
  uv_timer_t* tick_ = nullptr;  // heap: its close ends after this object
  std::unique_ptr<upstream::DnsResolver> resolver_;
  prometheus::Family<prometheus::Counter>& resolutions_;
};

}  // namespace sy::proxy::control
