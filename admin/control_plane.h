#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "routing/backend_state.h"

namespace sy::admin {

// What an admin call answers: a status and a JSON body, or a text body (metrics).
struct Reply {
  int status = 200;
  nlohmann::json body;
  std::string text;  // when set, sent as is with `content_type`
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

using Responder = std::function<void(Reply)>;

// Fleet mode: how far a change reaches, from the call's ?local=1 and ?wait=all[&wait_timeout=S].
// Passed to each verb that takes it rather than set on the control plane around the call: the
// verbs' signatures say which of them honour it, and nothing else that runs meanwhile sees it.
struct ChangeScope {
  // local=1: the change holds on this instance only instead of going through etcd.
  bool local = false;
  // wait=all: the answer waits until every live instance applied the change, at most this long
  // (zero: the fleet's request_timeout). nullopt without wait=all.
  std::optional<absl::Duration> wait_all;
};

// Reply {"error": message} with a 4xx/5xx status.
Reply errorReply(int status, std::string message);
// Reply `body` with `status`.
Reply jsonReply(int status, nlohmann::json body);
// The body bytes of `reply` as sent: its text, or its JSON pretty-printed with a final newline.
// Bytes that are not UTF-8 (a percent-decoded name echoed in an error) become U+FFFD instead of
// making nlohmann::json throw.
std::string replyBody(const Reply& reply);

// The operations the admin API drives. Implemented by the control thread's server; every call
// runs on the control loop. Calls that change routing answer through `respond` only once every
// worker has adopted the change, so the first request sent after the answer is routed by it.
class ControlPlane {
 public:
  virtual ~ControlPlane() = default;

  virtual std::vector<std::string> routeNames() const = 0;
  // The traffic verbs, and the backend verbs below, take the ChangeScope of the call.
  virtual void switchPool(const std::string& route, const std::string& pool, bool force,
                          const ChangeScope& scope, Responder respond) = 0;
  virtual void rollback(const std::string& route, const ChangeScope& scope, Responder respond) = 0;
  virtual void setCanary(const std::string& route, const std::string& pool, double weight,
                         const ChangeScope& scope, Responder respond) = 0;
  virtual void promote(const std::string& route, const ChangeScope& scope, Responder respond) = 0;
  // percent 0 stops mirroring (pool may then be empty).
  virtual void setMirror(const std::string& route, const std::string& pool, double percent,
                         const ChangeScope& scope, Responder respond) = 0;
  // Canary rollouts: start one from a JSON body (`default_route` when the body names none and
  // the configuration has one route); show one (`route`) or all (empty); pause, resume, abort,
  // promote or skip one.
  virtual void startRollout(const nlohmann::json& body, const std::string& default_route,
                            Responder respond) = 0;
  virtual void showRollouts(const std::string& route, Responder respond) = 0;
  // POST /admin/switch?to=POOL&verify=DURATION: switches, then watches POOL for `verify` and
  // switches back by itself if it fails (a one-step verify rollout). `scope` is the switch's
  // (the rollout's first step); the steps after it are the rollout's own.
  virtual void switchAndVerify(const std::string& route, const std::string& pool,
                               const std::string& verify, const ChangeScope& scope,
                               Responder respond) = 0;
  virtual void rolloutCommand(const std::string& route, const std::string& verb,
                              Responder respond) = 0;
  virtual void reload(Responder respond) = 0;
  // POST /admin/upgrade: a hot binary upgrade (`binary` empty: the running binary's path).
  // Answers once the new process is ready (this one then drains and exits) or could not start.
  virtual void upgrade(const std::string& /*binary*/, Responder respond) {
    respond(errorReply(501, "this server cannot upgrade itself"));
  }
  // Sets the admin state of one backend (`address` as configured), or of every backend of the
  // pool when `address` is empty. With `wait` > 0 and a draining or disabled state, answers once
  // the backends are drained (nothing in flight, no connection open), or 504 when `wait` ran
  // out; the state stays set either way.
  virtual void setBackendAdmin(const std::string& pool, const std::string& address,
                               routing::AdminState state, absl::Duration wait,
                               const ChangeScope& scope, Responder respond) = 0;
  // Run-time backend set (issue 20): POST /admin/pools/POOL/backends, PATCH and DELETE
  // /admin/pools/POOL/backends/ADDRESS (see proxy/control/backend_set.h).
  virtual void addBackend(const std::string& pool, const nlohmann::json& body,
                          Responder respond) = 0;
  virtual void reweightBackend(const std::string& pool, const std::string& address,
                               const nlohmann::json& body, Responder respond) = 0;
  virtual void removeBackend(const std::string& pool, const std::string& address,
                             absl::Duration wait, bool force, Responder respond) = 0;
  // Fleet mode ([fleet] configured): ?wait=all is possible.
  virtual bool fleetEnabled() const { return false; }
  virtual nlohmann::json status() const = 0;
  // The live figures of GET /admin/stats (admin/stats_sampler.h), without "markers" (the API
  // adds them from its change history).
  virtual nlohmann::json stats() const {
    return {{"interval_seconds", 1},
            {"windows", nlohmann::json::array()},
            {"times", nlohmann::json::array()},
            {"routes", nlohmann::json::object()},
            {"pools", nlohmann::json::object()}};
  }
  // False while shutting down: /readyz turns 503 so that load balancers stop sending.
  virtual bool ready() const = 0;
  // The Prometheus text exposition.
  virtual std::string metrics() const = 0;
};

}  // namespace sy::admin
