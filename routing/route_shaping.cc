#include "routing/route_shaping.h"

#include "absl/strings/ascii.h"

namespace sy::routing {
namespace {

std::optional<http::HeaderEdits> buildEdits(const std::optional<config::HeaderRulesConfig>& rules) {
  if (!rules) return std::nullopt;
  http::HeaderEdits edits;
  for (const auto& [name, text] : rules->set) {
    edits.drop.push_back(absl::AsciiStrToLower(name));
    if (auto value = http::ValueTemplate::compile(text); value.ok()) {
      edits.lines.push_back({name, *std::move(value)});
    }
  }
  for (const auto& [name, text] : rules->add) {
    if (auto value = http::ValueTemplate::compile(text); value.ok()) {
      edits.lines.push_back({name, *std::move(value)});
    }
  }
  for (const std::string& name : rules->remove) edits.drop.push_back(absl::AsciiStrToLower(name));
  if (edits.empty()) return std::nullopt;
  return edits;
}

}  // namespace

std::shared_ptr<const RouteShaping> buildRouteShaping(const config::RouteConfig& route) {
  auto shaping = std::make_shared<RouteShaping>();
  shaping->request_headers = buildEdits(route.request_headers);
  shaping->response_headers = buildEdits(route.response_headers);
  if (!route.strip_prefix.empty() || !route.add_prefix.empty() || route.rewrite) {
    http::PathRewrite path;
    path.setStripPrefix(route.strip_prefix);
    path.setAddPrefix(route.add_prefix);
    if (route.rewrite) {
      (void)path.setRewrite(route.rewrite->pattern, route.rewrite->replacement);
    }
    shaping->path = std::move(path);
  }
  if (route.redirect) {
    LocalAnswer answer;
    answer.status = route.redirect->status;
    auto location = http::ValueTemplate::compile(route.redirect->location);
    answer.location = location.ok() ? *std::move(location) : http::ValueTemplate();
    shaping->answer = std::move(answer);
  } else if (route.respond) {
    LocalAnswer answer;
    answer.status = route.respond->status;
    answer.body = route.respond->body;
    answer.content_type = route.respond->content_type;
    shaping->answer = std::move(answer);
  }
  if (!shaping->request_headers && !shaping->response_headers && !shaping->path &&
      !shaping->answer) {
    return nullptr;
  }
  return shaping;
}

}  // namespace sy::routing
