// The admin API's request handling (admin/admin_request, admin/admin_api): the input is
//   METHOD SP TARGET LF AUTHORIZATION LF BODY
// as AdminServer hands them over after parsing the HTTP request, and the API drives a control
// plane that records every call and answers at once.
//
// Invariants: every request gets exactly one answer; its status is one the API documents; an
// error answer is {"error": "..."}; the answer serializes to JSON the way AdminServer sends it
// (nlohmann::json::dump() throws on text that is not UTF-8: that would end the process);
// nothing reaches the control plane without the right bearer token, without POST, or with a
// share outside 0..100 or a wait outside 0..3600 s; the query decoder and an encoder agree.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admin/admin_api.h"
#include "admin/admin_request.h"
#include "core/strings.h"
#include "fuzz_support.h"

namespace sy::fuzz {
namespace {

constexpr std::string_view kToken = "s3cret";

// Records calls and answers each one at once, echoing what it was given.
class RecordingControlPlane final : public admin::ControlPlane {
 public:
  int calls = 0;
  bool ready_flag = true;
  std::vector<std::string> routes = {"web"};

  std::vector<std::string> routeNames() const override { return routes; }
  void switchPool(const std::string& route, const std::string& pool, bool force,
                  const admin::ChangeScope&, admin::Responder respond) override {
    ++calls;
    respond(admin::jsonReply(200, {{"route", route}, {"active", pool}, {"force", force}}));
  }
  void rollback(const std::string& route, const admin::ChangeScope&,
                admin::Responder respond) override {
    ++calls;
    respond(admin::jsonReply(200, {{"route", route}}));
  }
  void setCanary(const std::string& route, const std::string& pool, double weight,
                 const admin::ChangeScope&, admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(std::isfinite(weight) && weight >= 0 && weight <= 100,
                  "canary weight outside 0..100");
    respond(admin::jsonReply(200, {{"route", route}, {"canary", pool}, {"weight", weight}}));
  }
  void promote(const std::string& route, const admin::ChangeScope&,
               admin::Responder respond) override {
    ++calls;
    respond(admin::jsonReply(200, {{"route", route}}));
  }
  void setMirror(const std::string& route, const std::string& pool, double percent,
                 const admin::ChangeScope&, admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(std::isfinite(percent) && percent >= 0 && percent <= 100,
                  "mirror percent outside 0..100");
    SY_FUZZ_CHECK(percent == 0 || !pool.empty(), "mirroring to no pool");
    respond(admin::jsonReply(200, {{"route", route}, {"mirror", pool}, {"percent", percent}}));
  }
  void reload(admin::Responder respond) override {
    ++calls;
    respond(admin::jsonReply(200, {{"reloaded", true}}));
  }
  void startRollout(const nlohmann::json& body, const std::string& default_route,
                    admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(body.is_object(), "a rollout body that is not a JSON object");
    respond(admin::jsonReply(201, {{"route", default_route}}));
  }
  void switchAndVerify(const std::string& route, const std::string& pool, const std::string& verify,
                       const admin::ChangeScope&, admin::Responder respond) override {
    ++calls;
    absl::Duration duration;
    SY_FUZZ_CHECK(absl::ParseDuration(verify, &duration) && duration > absl::ZeroDuration(),
                  "a verify that is not a positive duration");
    respond(admin::jsonReply(201, {{"route", route}, {"pool", pool}}));
  }
  void showRollouts(const std::string& route, admin::Responder respond) override {
    respond(admin::jsonReply(200, {{"route", route}}));
  }
  void rolloutCommand(const std::string& route, const std::string& verb,
                      admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(!route.empty() && !verb.empty(), "a rollout command without route or verb");
    respond(admin::jsonReply(200, {{"route", route}, {"verb", verb}}));
  }
  void setBackendAdmin(const std::string& pool, const std::string& address, routing::AdminState,
                       absl::Duration wait, const admin::ChangeScope&,
                       admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(wait >= absl::ZeroDuration() && wait <= absl::Seconds(3600),
                  "wait outside 0..3600 s");
    respond(admin::jsonReply(200, {{"pool", pool}, {"address", address}}));
  }
  void addBackend(const std::string& pool, const nlohmann::json& body,
                  admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(body.is_object(), "a backend body that is not an object");
    respond(admin::jsonReply(201, {{"pool", pool}}));
  }
  void reweightBackend(const std::string& pool, const std::string& address,
                       const nlohmann::json& body, admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(body.is_object(), "a backend body that is not an object");
    respond(admin::jsonReply(200, {{"pool", pool}, {"address", address}}));
  }
  void removeBackend(const std::string& pool, const std::string& address, absl::Duration wait, bool,
                     admin::Responder respond) override {
    ++calls;
    SY_FUZZ_CHECK(wait >= absl::ZeroDuration() && wait <= absl::Seconds(3600),
                  "wait outside 0..3600 s");
    respond(admin::jsonReply(200, {{"pool", pool}, {"address", address}}));
  }
  nlohmann::json status() const override { return {{"routes", routes}}; }
  bool ready() const override { return ready_flag; }
  std::string metrics() const override { return "# metrics\n"; }
};

std::string percentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out.append({'%', kHex[c >> 4], kHex[c & 15]});
    }
  }
  return out;
}

void checkQueryRoundTrip(const admin::AdminRequest& request) {
  if (request.malformed_query || request.query.empty()) return;
  std::string target = request.path.empty() ? "/" : request.path;
  if (target.find('?') != std::string::npos) return;
  target += "?";
  for (const auto& [name, value] : request.query) {
    if (name.empty()) continue;  // "=v" and "&&" carry no name to encode back
    absl::StrAppend(&target, percentEncode(name), "=", percentEncode(value), "&");
  }
  admin::AdminRequest again = admin::parseAdminTarget(request.method, target);
  SY_FUZZ_CHECK(!again.malformed_query, "an encoded query does not decode");
  for (const auto& [name, value] : request.query) {
    if (name.empty()) continue;
    SY_FUZZ_CHECK(again.param(name) == value, "query decoding and encoding disagree");
  }
}

}  // namespace
}  // namespace sy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sy;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_end = input.find('\n');
  const std::string_view line = input.substr(0, line_end);
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : input.substr(line_end + 1);
  const size_t space = line.find(' ');
  const std::string_view method = line.substr(0, space);
  const std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const size_t auth_end = rest.find('\n');
  const std::string_view authorization = rest.substr(0, auth_end);
  const std::string_view body =
      auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end + 1);

  admin::AdminRequest request = admin::parseAdminTarget(method, target);
  SY_FUZZ_CHECK(request.method == method, "method changed");
  SY_FUZZ_CHECK(request.path.find('?') == std::string::npos, "path keeps a query");
  SY_FUZZ_CHECK(std::string_view(target).substr(0, request.path.size()) == request.path,
                "path is not the target's start");
  request.authorization = std::string(authorization);
  request.body = std::string(body);
  fuzz::checkQueryRoundTrip(request);

  fuzz::RecordingControlPlane control;
  if (size > 0) {
    control.ready_flag = (data[size - 1] & 1) != 0;
    if ((data[size - 1] & 2) != 0) control.routes = {"web", "api"};
  }
  admin::AdminApi api(control);
  api.setToken(std::string(fuzz::kToken));
  int answers = 0;
  admin::Reply reply;
  api.handle(request, [&](admin::Reply r) {
    ++answers;
    reply = std::move(r);
  });
  SY_FUZZ_CHECK(answers == 1, "not exactly one answer");
  static const int kStatuses[] = {200, 400, 401, 404, 405, 503};
  bool known = false;
  for (int status : kStatuses) known = known || status == reply.status;
  SY_FUZZ_CHECK(known, "undocumented status");
  if (reply.status >= 400 && reply.status != 503) {
    SY_FUZZ_CHECK(
        reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_string(),
        "an error answer without {\"error\": ...}");
  }
  for (const auto& [name, value] : reply.headers) {
    SY_FUZZ_CHECK(fuzz::isToken(name) && fuzz::isCleanFieldValue(value), "answer header not clean");
  }
  if (control.calls > 0) {
    const bool authorized =
        request.authorization.size() == 7 + fuzz::kToken.size() &&
        core::equalsIgnoreCase(std::string_view(request.authorization).substr(0, 7), "Bearer ") &&
        std::string_view(request.authorization).substr(7) == fuzz::kToken;
    SY_FUZZ_CHECK(authorized, "the control plane was driven without the token");
    SY_FUZZ_CHECK(request.method == "POST", "the control plane was driven without POST");
    SY_FUZZ_CHECK(request.path.rfind("/admin/", 0) == 0,
                  "the control plane was driven outside /admin/");
  }
  // AdminServer::send() sends exactly these bytes: they must be JSON that reads back.
  std::string text;
  try {
    text = admin::replyBody(reply);
  } catch (const nlohmann::json::exception& error) {
    fuzz::fail("the answer cannot be serialized: AdminServer::send() would throw", error.what());
  }
  if (reply.text.empty()) {
    SY_FUZZ_CHECK(nlohmann::json::accept(text), "the answer is not valid JSON");
  }
  return 0;
}
