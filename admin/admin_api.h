#pragma once

#include <deque>
#include <string>
#include <vector>

#include "admin/admin_request.h"
#include "admin/control_plane.h"
#include "routing/config/model.h"

namespace sy::admin {

// The admin HTTP API: authentication, parameter checking and the mapping of endpoints to
// ControlPlane calls. Every error is a JSON {"error": ...} with a 4xx status, and a call that
// fails changes nothing. Control thread only.
//
//   POST /admin/switch?to=POOL[&route=NAME][&force=1]
//   POST /admin/rollback[?route=NAME]
//   POST /admin/canary?pool=POOL&weight=W[&route=NAME]
//   POST /admin/promote[?route=NAME]
//   POST /admin/mirror?pool=POOL&percent=P[&route=NAME]
//   GET  /admin/status
//   GET  /admin/stats                  (live figures and the switch/rollback markers)
//   GET  /, /ui, /ui/console.js, /ui/console.css   (the console: static, no token needed)
//   POST /admin/reload
//   POST /admin/upgrade[?binary=PATH]
//   POST /admin/pools/POOL[/backends/ADDRESS]/drain|disable[?wait=SECONDS]
//   POST /admin/pools/POOL[/backends/ADDRESS]/enable
//   GET  /healthz, /readyz, /metrics   (never need a token: probes carry none)
//
// Every call that is not a GET is recorded: an `admin_change` event line and an entry in the
// change history that /admin/status shows under "history" (what, when, by which token, from
// which address, and the answer's status); event lines the call itself writes carry `by` and
// `from` too.
//
// Browsers: requests whose Host is not an IP literal, "localhost" or an allowed name are
// refused (DNS rebinding), and so are changes sent from another origin (admin/admin_origin.h).
class AdminApi {
 public:
  // kProbes: only /healthz, /readyz and /metrics, without a token (the probes listener).
  enum class Surface { kFull, kProbes };
  // A bearer token the API accepts, under the name the history records.
  struct Credential {
    std::string name;
    std::string secret;
    routing::config::AdminRole role = routing::config::AdminRole::kOperate;
  };
  static constexpr size_t kHistorySize = 50;

  explicit AdminApi(ControlPlane& control, Surface surface = Surface::kFull)
      : control_(control), surface_(surface) {}

  // The tokens /admin/ calls must present (one of them); none: no authentication, and changes
  // are recorded as by "anonymous".
  void setCredentials(std::vector<Credential> credentials) {
    credentials_ = std::move(credentials);
  }

  // One token named "admin" with the operate role (empty: none), as admin.token configures.
  void setToken(std::string token) {
    credentials_.clear();
    if (!token.empty()) {
      credentials_.push_back({"admin", std::move(token), routing::config::AdminRole::kOperate});
    }
  }

  // Host names (besides IP literals and "localhost") the full surface answers to
  // (admin.allowed_hosts; "*": any).
  void setAllowedHosts(std::vector<std::string> hosts) { allowed_hosts_ = std::move(hosts); }

  void handle(const AdminRequest& request, Responder respond);

  // The Content-Security-Policy of the console's files: nothing inline, nothing from elsewhere.
  static constexpr const char* kConsolePolicy =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
      "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

 private:
  // The credential `request` presents; null when none matches (or none is configured: then
  // `*open` is true).
  const Credential* authenticate(const AdminRequest& request, bool* open) const;
  void handleProbe(const AdminRequest& request, Responder& respond);
  void handleConsole(const AdminRequest& request, Responder& respond);
  // The history's successful traffic changes (switch, rollback, canary, promote, mirror,
  // rollouts), oldest first, as /admin/stats marks them on the time axis.
  nlohmann::json markers() const;
  // `scope`: the change's ?local=1 and ?wait=all, for the verbs that take them.
  void dispatch(const AdminRequest& request, const ChangeScope& scope, Responder respond);
  void record(const AdminRequest& request, const std::string& by, const Reply& reply);
  void handleBackendAdmin(const AdminRequest& request, const ChangeScope& scope, Responder respond);
  // The route a call applies to: `route=` or, when the configuration has one route, that one.
  void handleBackendSet(const AdminRequest& request, const std::vector<std::string>& parts,
                        Responder respond);
  void handleRollouts(const AdminRequest& request, Responder respond);
  bool resolveRoute(const AdminRequest& request, std::string* route, Responder& respond) const;

  ControlPlane& control_;
  Surface surface_;
  std::vector<Credential> credentials_;
  std::vector<std::string> allowed_hosts_;
  std::deque<nlohmann::json> history_;  // newest last, at most kHistorySize
};

}  // namespace sy::admin
