#pragma once

#include <string>

#include "admin/admin_request.h"
#include "admin/control_plane.h"

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
//   POST /admin/reload
//   POST /admin/upgrade[?binary=PATH]
//   POST /admin/pools/POOL[/backends/ADDRESS]/drain|disable[?wait=SECONDS]
//   POST /admin/pools/POOL[/backends/ADDRESS]/enable
//   GET  /healthz, /readyz   (never need the token: probes carry none)
class AdminApi {
 public:
  explicit AdminApi(ControlPlane& control) : control_(control) {}

  // The bearer token every /admin/ call must present; empty: no authentication.
  void setToken(std::string token) { token_ = std::move(token); }

  void handle(const AdminRequest& request, Responder respond);

 private:
  bool authorized(const AdminRequest& request) const;
  void handleBackendAdmin(const AdminRequest& request, Responder respond);
  // The route a call applies to: `route=` or, when the configuration has one route, that one.
  void handleBackendSet(const AdminRequest& request, const std::vector<std::string>& parts,
                        Responder respond);
  void handleRollouts(const AdminRequest& request, Responder respond);
  bool resolveRoute(const AdminRequest& request, std::string* route, Responder& respond) const;

  ControlPlane& control_;
  std::string token_;
};

}  // namespace sy::admin
