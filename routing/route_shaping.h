#pragma once

// What a route changes about the requests it forwards and the responses it returns, or the
// answer it gives itself (redirect, respond): the configuration's shaping keys compiled once per
// snapshot. A route without any has none (Route::shaping is null), so the request path pays a
// null check for the feature and nothing else.

#include <memory>
#include <optional>
#include <string>

#include "http/header_edits.h"
#include "http/path_rewrite.h"
#include "http/value_template.h"
#include "routing/config/model.h"

namespace sy::routing {

// A route's own answer.
struct LocalAnswer {
  int status = 200;
  std::optional<http::ValueTemplate> location;  // set: a redirect with this Location
  std::string body;
  std::string content_type;
};

struct RouteShaping {
  std::optional<http::HeaderEdits> request_headers;
  std::optional<http::HeaderEdits> response_headers;
  std::optional<http::PathRewrite> path;
  std::optional<LocalAnswer> answer;
};

// Null when the route shapes nothing. The configuration was checked by the loader: a template
// or pattern that does not compile here is left out.
std::shared_ptr<const RouteShaping> buildRouteShaping(const config::RouteConfig& route);

}  // namespace sy::routing
