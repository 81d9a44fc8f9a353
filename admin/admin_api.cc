#include "admin/admin_api.h"

#include <openssl/crypto.h>

#include <cmath>
#include <initializer_list>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admin/admin_origin.h"
#include "admin/console_assets.h"
#include "admin/metrics.h"
#include "core/log.h"
#include "core/strings.h"

namespace sy::admin {
namespace {

constexpr std::string_view kBearer = "Bearer ";

// A plain decimal number: digits with an optional fraction. strtod (behind SimpleAtod) would
// also take "0x10", "1e2", " 5" or "inf", none of which an operator means as a percentage.
bool isPlainDecimal(std::string_view text) {
  size_t digits = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t fraction = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++fraction;
    if (fraction == 0) return false;
  }
  return digits > 0 && i == text.size();
}

// Unknown parameters are refused: a typo such as `too=green` must not look like success.
bool onlyKnownParams(const AdminRequest& request, std::initializer_list<std::string_view> known,
                     Responder& respond) {
  if (request.malformed_query) {
    respond(errorReply(400, "malformed query string (bad percent-encoding)"));
    return false;
  }
  for (const auto& [name, value] : request.query) {
    bool found = false;
    for (std::string_view k : known) found = found || name == k;
    if (!found) {
      std::vector<std::string> list(known.begin(), known.end());
      respond(errorReply(
          400, absl::StrCat("unknown parameter \"", name, "\"",
                            list.empty()
                                ? " (this call takes none)"
                                : absl::StrCat(" (expected: ", absl::StrJoin(list, ", "), ")"))));
      return false;
    }
  }
  return true;
}

std::optional<std::string> requiredParam(const AdminRequest& request, std::string_view name,
                                         Responder& respond) {
  auto value = request.param(name);
  if (!value || value->empty()) {
    respond(errorReply(400, absl::StrCat("missing parameter \"", core::toAbsl(name), "\"")));
    return std::nullopt;
  }
  return value;
}

// A share of traffic (canary weight, mirror percent) and its pool: "W" from 0 to 100, decimals
// allowed; 0 ends the canary or the mirroring, and then the pool may be left out.
bool sharedPoolParams(const AdminRequest& request, std::string_view share_param, double* share,
                      std::string* pool, Responder& respond) {
  auto text = requiredParam(request, share_param, respond);
  if (!text) return false;
  if (!isPlainDecimal(*text) || !absl::SimpleAtod(*text, share) || !std::isfinite(*share) ||
      *share > 100) {
    respond(errorReply(400, absl::StrCat("parameter \"", core::toAbsl(share_param),
                                         "\" must be a number from 0 to 100 (decimals allowed), "
                                         "got \"",
                                         *text, "\"")));
    return false;
  }
  if (*share == 0) {
    *pool = request.param("pool").value_or("");
    return true;
  }
  auto named = requiredParam(request, "pool", respond);
  if (!named) return false;
  *pool = *named;
  return true;
}

// ?force=1|0|true|false (absent: false).
// ?NAME=1|0|true|false (absent: false), e.g. force and local.
bool flagParam(const AdminRequest& request, std::string_view name, bool* value,
               Responder& respond) {
  *value = false;
  auto text = request.param(name);
  if (!text) return true;
  if (*text == "1" || *text == "true") {
    *value = true;
  } else if (*text != "0" && *text != "false") {
    respond(errorReply(
        400, absl::StrCat("parameter \"", core::toAbsl(name), "\" must be 1, 0, true or false")));
    return false;
  }
  return true;
}

// ?wait=SECONDS, 0 to 3600, decimals allowed (absent: `fallback`). With `all_too`, wait=all is
// also accepted (the fleet's wait, see waitAllParam) and leaves `fallback`.
bool waitParam(const AdminRequest& request, absl::Duration fallback, absl::Duration* wait,
               Responder& respond, bool all_too = false) {
  *wait = fallback;
  auto text = request.param("wait");
  if (!text || (all_too && *text == "all")) return true;
  double seconds = 0;
  if (!isPlainDecimal(*text) || !absl::SimpleAtod(*text, &seconds) || seconds > 3600) {
    respond(errorReply(400, absl::StrCat("parameter \"wait\" must be a number of seconds from 0 "
                                         "to 3600, got \"",
                                         *text, "\"")));
    return false;
  }
  *wait = absl::Seconds(seconds);
  return true;
}

// ?wait=all[&wait_timeout=SECONDS] (fleet mode): the answer waits until every live instance of
// the fleet applied the change (proxy/control/fleet_waits.h). `*timeout` stays nullopt without
// wait=all, zero for the fleet's default (its request_timeout).
bool waitAllParam(const AdminRequest& request, bool fleet, bool local,
                  std::optional<absl::Duration>* timeout, Responder& respond) {
  *timeout = std::nullopt;
  auto wait = request.param("wait");
  auto wait_timeout = request.param("wait_timeout");
  const bool all = wait && *wait == "all";
  if (!all) {
    if (wait_timeout) {
      respond(errorReply(400, "parameter \"wait_timeout\" goes with wait=all"));
      return false;
    }
    return true;
  }
  if (!fleet) {
    respond(errorReply(400,
                       "wait=all waits for every instance of a fleet, and this instance has no "
                       "[fleet] section: drop wait=all (the answer already comes once this "
                       "instance applied the change)"));
    return false;
  }
  if (local) {
    respond(errorReply(
        400, "wait=all and local=1 cannot be combined: a local change is not the fleet's"));
    return false;
  }
  *timeout = absl::ZeroDuration();
  if (!wait_timeout) return true;
  double seconds = 0;
  if (!isPlainDecimal(*wait_timeout) || !absl::SimpleAtod(*wait_timeout, &seconds) ||
      seconds <= 0 || seconds > 3600) {
    respond(errorReply(400, absl::StrCat("parameter \"wait_timeout\" must be a number of seconds "
                                         "above 0, at most 3600, got \"",
                                         *wait_timeout, "\"")));
    return false;
  }
  *timeout = absl::Seconds(seconds);
  return true;
}

}  // namespace

Reply jsonReply(int status, nlohmann::json body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

std::string replyBody(const Reply& reply) {
  if (!reply.text.empty()) return reply.text;
  return reply.body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Reply errorReply(int status, std::string message) {
  Reply reply;
  reply.status = status;
  reply.body = {{"error", std::move(message)}};
  return reply;
}

const AdminApi::Credential* AdminApi::authenticate(const AdminRequest& request, bool* open) const {
  *open = credentials_.empty();
  if (*open) return nullptr;
  const std::string_view header = request.authorization;
  // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  if (header.size() <= kBearer.size() ||
      !core::equalsIgnoreCase(header.substr(0, kBearer.size()), kBearer)) {
    return nullptr;
  }
  const std::string_view presented = header.substr(kBearer.size());
  const Credential* match = nullptr;
  for (const Credential& credential : credentials_) {
    // Constant time for each token, and every token compared, so that the answer time does not
    // leak how much of a guess was right, nor which token it was close to.
    if (presented.size() == credential.secret.size() &&
        CRYPTO_memcmp(presented.data(), credential.secret.data(), presented.size()) == 0) {
      match = &credential;
    }
  }
  return match;
}

void AdminApi::record(const AdminRequest& request, const std::string& by, const Reply& reply) {
  nlohmann::json entry = {
      {"time", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"method", request.method},
      {"target", request.target},
      {"by", by},
      {"from", request.peer},
      {"status", reply.status}};
  if (reply.status >= 400 && reply.body.is_object() && reply.body.contains("error")) {
    entry["error"] = reply.body["error"];
  }
  core::logEvent(reply.status < 400 ? core::LogLevel::kInfo : core::LogLevel::kWarn, "admin_change",
                 entry);
  history_.push_back(std::move(entry));
  if (history_.size() > kHistorySize) history_.pop_front();
}

void AdminApi::handleBackendAdmin(const AdminRequest& request, const ChangeScope& scope,
                                  Responder respond) {
  // /admin/pools/POOL/drain|enable|disable
  // /admin/pools/POOL/backends/ADDRESS/drain|enable|disable
  std::vector<std::string> parts;
  std::string_view rest =
      std::string_view(request.path).substr(std::string_view("/admin/pools/").size());
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string segment;
    if (!percentDecode(rest.substr(0, slash), &segment, /*plus_is_space=*/false)) {
      respond(errorReply(400, "malformed path (bad percent-encoding)"));
      return;
    }
    parts.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if ((parts.size() == 2 || parts.size() == 3) && parts[1] == "backends") {
    handleBackendSet(request, parts, std::move(respond));
    return;
  }
  std::string pool;
  std::string address;
  std::string action;
  if (parts.size() == 2) {
    pool = parts[0];
    action = parts[1];
  } else if (parts.size() == 4 && parts[1] == "backends") {
    pool = parts[0];
    address = parts[2];
    action = parts[3];
  } else {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", request.path,
                                         " (expected /admin/pools/POOL/ACTION or "
                                         "/admin/pools/POOL/backends/ADDRESS/ACTION)")));
    return;
  }
  routing::AdminState state;
  if (action == "drain") {
    state = routing::AdminState::kDraining;
  } else if (action == "disable") {
    state = routing::AdminState::kDisabled;
  } else if (action == "enable") {
    state = routing::AdminState::kReady;
  } else {
    respond(errorReply(
        404, absl::StrCat("unknown action \"", action, "\" (expected drain, disable or enable)")));
    return;
  }
  if (request.method != "POST") {
    Reply reply = errorReply(405, absl::StrCat("use POST for ", request.path));
    reply.headers.emplace_back("Allow", "POST");
    respond(std::move(reply));
    return;
  }
  if (!onlyKnownParams(request, {"wait", "wait_timeout", "local"}, respond)) return;
  if (state == routing::AdminState::kReady) {
    // Nothing to drain: only the fleet's wait.
    if (auto text = request.param("wait"); text && *text != "all") {
      respond(errorReply(
          400,
          "unknown parameter \"wait\" (enable takes no drain wait; only wait=all, in fleet mode)"));
      return;
    }
  }
  absl::Duration wait;
  if (!waitParam(request, absl::ZeroDuration(), &wait, respond, /*all_too=*/true)) return;
  control_.setBackendAdmin(pool, address, state, wait, scope, std::move(respond));
}

void AdminApi::handleBackendSet(const AdminRequest& request, const std::vector<std::string>& parts,
                                Responder respond) {
  // POST /admin/pools/POOL/backends; PATCH and DELETE /admin/pools/POOL/backends/ADDRESS
  const std::string& pool = parts[0];
  const char* methods = parts.size() == 2 ? "POST" : "PATCH, DELETE";
  if ((parts.size() == 2 && request.method != "POST") ||
      (parts.size() == 3 && request.method != "PATCH" && request.method != "DELETE")) {
    Reply reply = errorReply(405, absl::StrCat("use ", methods, " for ", request.path));
    reply.headers.emplace_back("Allow", methods);
    respond(std::move(reply));
    return;
  }
  if (request.method == "DELETE") {
    if (!onlyKnownParams(request, {"wait", "force"}, respond)) return;
    // The drain's wait: 10 s unless told, so that a plain DELETE lets requests in flight end.
    absl::Duration wait;
    bool force = false;
    if (!waitParam(request, absl::Seconds(10), &wait, respond) ||
        !flagParam(request, "force", &force, respond)) {
      return;
    }
    control_.removeBackend(pool, parts[2], wait, force, std::move(respond));
    return;
  }
  if (!onlyKnownParams(request, {}, respond)) return;
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    respond(errorReply(400,
                       "body: expected a JSON object such as {\"address\": "
                       "\"10.0.0.5:8080\", \"weight\": 1}"));
    return;
  }
  if (parts.size() == 2) {
    control_.addBackend(pool, body, std::move(respond));
  } else {
    control_.reweightBackend(pool, parts[2], body, std::move(respond));
  }
}

void AdminApi::handleRollouts(const AdminRequest& request, Responder respond) {
  // /admin/rollouts (GET all, POST a new one), /admin/rollouts/ROUTE (GET),
  // /admin/rollouts/ROUTE/pause|resume|abort|promote|skip (POST)
  std::vector<std::string> parts;
  std::string_view rest =
      std::string_view(request.path).substr(std::string_view("/admin/rollouts").size());
  if (!rest.empty()) rest.remove_prefix(1);  // the slash
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string segment;
    if (!percentDecode(rest.substr(0, slash), &segment, /*plus_is_space=*/false) ||
        segment.empty()) {
      respond(errorReply(400, "malformed path (bad percent-encoding or an empty segment)"));
      return;
    }
    parts.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (!onlyKnownParams(request, {}, respond)) return;
  const auto allow = [&](const char* methods) {
    Reply reply = errorReply(405, absl::StrCat("use ", methods, " for ", request.path));
    reply.headers.emplace_back("Allow", methods);
    respond(std::move(reply));
  };
  if (parts.empty()) {
    if (request.method == "GET") return control_.showRollouts("", std::move(respond));
    if (request.method != "POST") return allow("GET, POST");
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      respond(errorReply(400,
                         "body: not valid JSON (a rollout is a JSON object; see "
                         "\"Automated canary rollouts\" in the README)"));
      return;
    }
    const std::vector<std::string> routes = control_.routeNames();
    control_.startRollout(body, routes.size() == 1 ? routes.front() : "", std::move(respond));
  } else if (parts.size() == 1) {
    if (request.method != "GET") return allow("GET");
    control_.showRollouts(parts[0], std::move(respond));
  } else if (parts.size() == 2) {
    if (request.method != "POST") return allow("POST");
    control_.rolloutCommand(parts[0], parts[1], std::move(respond));
  } else {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", request.path)));
  }
}

bool AdminApi::resolveRoute(const AdminRequest& request, std::string* route,
                            Responder& respond) const {
  if (auto named = request.param("route")) {
    if (named->empty()) {
      respond(errorReply(400, "parameter \"route\" is empty"));
      return false;
    }
    *route = *named;
    return true;
  }
  const std::vector<std::string> routes = control_.routeNames();
  if (routes.size() == 1) {
    *route = routes.front();
    return true;
  }
  respond(
      errorReply(400, absl::StrCat("missing parameter \"route\": the configuration has ",
                                   routes.size(), " routes (", absl::StrJoin(routes, ", "), ")")));
  return false;
}

void AdminApi::handleProbe(const AdminRequest& request, Responder& respond) {
  if (request.method != "GET") {
    Reply reply = errorReply(405, absl::StrCat("use GET for ", request.path));
    reply.headers.emplace_back("Allow", "GET");
    respond(std::move(reply));
    return;
  }
  if (request.path == "/healthz") {
    respond(jsonReply(200, {{"status", "ok"}}));
  } else if (request.path == "/readyz") {
    const bool ready = control_.ready();
    respond(jsonReply(ready ? 200 : 503, {{"status", ready ? "ready" : "shutting down"}}));
  } else {
    Reply reply;
    reply.text = control_.metrics();
    reply.content_type = kMetricsContentType;
    respond(std::move(reply));
  }
}

void AdminApi::handleConsole(const AdminRequest& request, Responder& respond) {
  if (request.method != "GET" && request.method != "HEAD") {
    Reply reply = errorReply(405, absl::StrCat("use GET for ", request.path));
    reply.headers.emplace_back("Allow", "GET, HEAD");
    respond(std::move(reply));
    return;
  }
  const std::string& path = request.path;
  const std::string name =
      path == "/" || path == "/ui" || path == "/ui/" ? "index.html" : path.substr(4);
  const ConsoleAsset asset = consoleAsset(name);
  if (asset.content.empty()) {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", path)));
    return;
  }
  Reply reply;
  reply.text = std::string(asset.content);
  reply.content_type = std::string(asset.content_type);
  reply.headers.emplace_back("Content-Security-Policy", kConsolePolicy);
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("X-Frame-Options", "DENY");
  reply.headers.emplace_back("Referrer-Policy", "no-referrer");
  respond(std::move(reply));
}

nlohmann::json AdminApi::markers() const {
  nlohmann::json out = nlohmann::json::array();
  const std::vector<std::string> routes = control_.routeNames();
  for (const nlohmann::json& entry : history_) {
    if (entry.value("status", 500) >= 400) continue;
    const AdminRequest change =
        parseAdminTarget(entry.value("method", ""), entry.value("target", ""));
    std::string what;
    for (const char* kind : {"switch", "rollback", "canary", "promote", "mirror"}) {
      if (change.path == absl::StrCat("/admin/", kind)) what = kind;
    }
    if (change.path.rfind("/admin/rollouts", 0) == 0) what = "rollout";
    if (what.empty()) continue;
    absl::Time time;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", entry.value("time", ""), &time, &error)) continue;
    std::string route = change.param("route").value_or(routes.size() == 1 ? routes.front() : "");
    out.push_back({{"time", absl::ToDoubleSeconds(time - absl::UnixEpoch())},
                   {"what", what},
                   {"route", route},
                   {"target", entry["target"]},
                   {"by", entry["by"]}});
  }
  return out;
}

void AdminApi::handle(const AdminRequest& request, Responder respond) {
  const std::string& path = request.path;
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    handleProbe(request, respond);
    return;
  }
  if (surface_ == Surface::kProbes) {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", path,
                                         " (this listener serves /healthz, /readyz and /metrics "
                                         "only; the admin API has its own address)")));
    return;
  }
  // Before anything else: a rebound name must not even read.
  if (!adminHostAllowed(request.host, allowed_hosts_)) {
    core::logWarn("admin_host_refused", {{"host", request.host}, {"from", request.peer}});
    respond(errorReply(403, absl::StrCat("Host \"", request.host,
                                         "\" is not an address of this admin listener (use an IP "
                                         "address or localhost, or list the name in "
                                         "admin.allowed_hosts)")));
    return;
  }
  const bool console = path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0;
  if (console) {
    handleConsole(request, respond);
    return;
  }
  if (path.rfind("/admin/", 0) != 0) {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", path)));
    return;
  }
  // A change sent by a page of another origin (the operator's browser used as a relay) is
  // refused before the token is even looked at: nothing changes, whatever it carries.
  if (request.method != "GET") {
    if (auto refusal = crossOriginRefusal(request)) {
      core::logWarn("admin_cross_origin_refused", {{"method", request.method},
                                                   {"target", request.target},
                                                   {"origin", request.origin},
                                                   {"sec_fetch_site", request.sec_fetch_site},
                                                   {"from", request.peer}});
      respond(errorReply(403, *std::move(refusal)));
      return;
    }
  }
  bool open = false;
  const Credential* credential = authenticate(request, &open);
  if (!open && credential == nullptr) {
    Reply reply = errorReply(401, "missing or wrong bearer token (Authorization: Bearer ...)");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    respond(std::move(reply));
    return;
  }
  const bool change = request.method != "GET";
  if (!change) {
    dispatch(request, ChangeScope{}, std::move(respond));
    return;
  }
  // A change: recorded with who asked, whatever the answer.
  const std::string by = credential != nullptr ? credential->name : "anonymous";
  Responder recorded = [this, request, by, respond = std::move(respond)](Reply reply) {
    record(request, by, reply);
    respond(std::move(reply));
  };
  if (credential != nullptr && credential->role == routing::config::AdminRole::kRead) {
    recorded(errorReply(
        403, absl::StrCat("token \"", credential->name, "\" has the read role; ", request.method,
                          " ", path, " needs a token with the operate role")));
    return;
  }
  core::ScopedLogFields actor({{"by", by}, {"from", request.peer}});
  // ?local=1 (fleet mode): a traffic verb changes this instance alone, not the fleet's state.
  ChangeScope scope;
  if (!flagParam(request, "local", &scope.local, recorded) ||
      !waitAllParam(request, control_.fleetEnabled(), scope.local, &scope.wait_all, recorded)) {
    return;
  }
  dispatch(request, scope, std::move(recorded));
}

void AdminApi::dispatch(const AdminRequest& request, const ChangeScope& scope, Responder respond) {
  const std::string& path = request.path;
  auto method_is = [&](std::string_view wanted) {
    if (request.method == wanted) return true;
    Reply reply = errorReply(405, absl::StrCat("use ", core::toAbsl(wanted), " for ", path));
    reply.headers.emplace_back("Allow", std::string(wanted));
    respond(std::move(reply));
    return false;
  };

  const bool traffic_verb = path == "/admin/switch" || path == "/admin/rollback" ||
                            path == "/admin/canary" || path == "/admin/mirror" ||
                            path == "/admin/promote";
  if (auto wait = request.param("wait"); traffic_verb && wait && *wait != "all") {
    respond(errorReply(400, absl::StrCat("parameter \"wait\" takes only \"all\" on ", path,
                                         " (fleet mode), got \"", *wait, "\"")));
    return;
  }
  std::string route;
  if (path == "/admin/switch") {
    if (!method_is("POST") ||
        !onlyKnownParams(request,
                         {"to", "route", "force", "verify", "local", "wait", "wait_timeout"},
                         respond)) {
      return;
    }
    auto pool = requiredParam(request, "to", respond);
    if (!pool || !resolveRoute(request, &route, respond)) return;
    if (auto verify = request.param("verify")) {
      absl::Duration duration;
      if (!absl::ParseDuration(*verify, &duration) || duration < absl::Seconds(1) ||
          duration > absl::Hours(24)) {
        respond(errorReply(400,
                           "parameter \"verify\" must be a duration from 1s to 24h, such "
                           "as \"60s\""));
        return;
      }
      if (request.param("force")) {
        respond(errorReply(400, "parameters \"force\" and \"verify\" cannot be combined"));
        return;
      }
      control_.switchAndVerify(route, *pool, *verify, scope, std::move(respond));
      return;
    }
    bool force = false;
    if (!flagParam(request, "force", &force, respond)) return;
    control_.switchPool(route, *pool, force, scope, std::move(respond));
  } else if (path == "/admin/rollback") {
    if (!method_is("POST") ||
        !onlyKnownParams(request, {"route", "local", "wait", "wait_timeout"}, respond))
      return;
    if (!resolveRoute(request, &route, respond)) return;
    control_.rollback(route, scope, std::move(respond));
  } else if (path == "/admin/canary" || path == "/admin/mirror") {
    const bool canary = path == "/admin/canary";
    const char* share_param = canary ? "weight" : "percent";
    if (!method_is("POST") ||
        !onlyKnownParams(request, {"pool", share_param, "route", "local", "wait", "wait_timeout"},
                         respond)) {
      return;
    }
    double share = 0;
    std::string pool;
    if (!sharedPoolParams(request, share_param, &share, &pool, respond) ||
        !resolveRoute(request, &route, respond)) {
      return;
    }
    if (canary) {
      control_.setCanary(route, pool, share, scope, std::move(respond));
    } else {
      control_.setMirror(route, pool, share, scope, std::move(respond));
    }
  } else if (path == "/admin/promote") {
    if (!method_is("POST") ||
        !onlyKnownParams(request, {"route", "local", "wait", "wait_timeout"}, respond))
      return;
    if (!resolveRoute(request, &route, respond)) return;
    control_.promote(route, scope, std::move(respond));
  } else if (path == "/admin/status") {
    if (!method_is("GET") || !onlyKnownParams(request, {}, respond)) return;
    nlohmann::json status = control_.status();
    status["history"] = nlohmann::json::array();
    // Newest first, as an operator reads it.
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) status["history"].push_back(*it);
    respond(jsonReply(200, std::move(status)));
  } else if (path == "/admin/stats") {
    if (!method_is("GET") || !onlyKnownParams(request, {}, respond)) return;
    nlohmann::json stats = control_.stats();
    stats["markers"] = markers();
    respond(jsonReply(200, std::move(stats)));
  } else if (path.rfind("/admin/pools/", 0) == 0) {
    handleBackendAdmin(request, scope, std::move(respond));
  } else if (path == "/admin/rollouts" || path.rfind("/admin/rollouts/", 0) == 0) {
    handleRollouts(request, std::move(respond));
  } else if (path == "/admin/reload") {
    if (!method_is("POST") || !onlyKnownParams(request, {}, respond)) return;
    control_.reload(std::move(respond));
  } else if (path == "/admin/upgrade") {
    if (!method_is("POST") || !onlyKnownParams(request, {"binary"}, respond)) return;
    const std::string binary = request.param("binary").value_or("");
    if (!binary.empty() && binary.front() != '/') {
      respond(errorReply(400, "parameter \"binary\" must be an absolute path"));
      return;
    }
    control_.upgrade(binary, std::move(respond));
  } else {
    respond(errorReply(404, absl::StrCat("no such endpoint: ", path)));
  }
}

}  // namespace sy::admin
