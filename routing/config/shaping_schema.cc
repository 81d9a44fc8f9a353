// The request-shaping keys of a route: request_headers, response_headers, strip_prefix,
// add_prefix, rewrite, redirect and respond (conf/REFERENCE.md, "Request shaping"). The tables
// are read here for their types; checkRouteShaping() then checks what depends on the route: the
// header names a direction allows, the templates' variables, the regular expression, and that a
// route answering itself names no pool.

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "http/header_edits.h"
#include "http/path_rewrite.h"
#include "http/value_template.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

// set = { "X-Env" = "prod" }: a table of header names to string values.
Field<HeaderRulesConfig> headerMapField(
    std::string_view name, std::map<std::string, std::string> HeaderRulesConfig::*member) {
  return {name, [member](const toml::node& node, const std::string& key, HeaderRulesConfig& out,
                         ErrorSink& sink) {
            const toml::table* table = node.as_table();
            if (table == nullptr) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected a table of header names to values, got ",
                                    describeValue(node)));
              return;
            }
            for (auto&& [header, value] : *table) {
              const std::string header_key = childKey(key, header.str());
              if (!checkHeaderName(header.str()).ok()) {
                sink.add(positionOf(header), header_key,
                         absl::StrCat("expected a header name made of letters, digits and "
                                      "!#$%&'*+-.^_`|~, got ",
                                      inQuotes(header.str())));
                continue;
              }
              if (auto text = readString(value, header_key, sink)) {
                (out.*member)[std::string(header.str())] = *std::move(text);
              }
            }
          }};
}

std::string_view opName(http::HeaderOp op) {
  switch (op) {
    case http::HeaderOp::kSet:
      return "set";
    case http::HeaderOp::kAdd:
      return "add";
    case http::HeaderOp::kRemove:
      return "remove";
  }
  return "";
}

// A template's problems, for the message: its syntax, or a variable with no value there.
absl::Status checkTemplate(std::string_view text, bool backend_known) {
  absl::StatusOr<http::ValueTemplate> compiled = http::ValueTemplate::compile(text);
  if (!compiled.ok()) return compiled.status();
  if (!backend_known && compiled->uses(http::TemplateVariable::kBackend)) {
    return absl::InvalidArgumentError(
        "{backend} is only known once a backend answered: use it in response_headers");
  }
  return absl::OkStatus();
}

void checkHeaderRules(const toml::table& route_table, const std::string& route_key,
                      const RouteConfig& route, std::string_view field,
                      const HeaderRulesConfig& rules, http::HeaderDirection direction,
                      ErrorSink& sink) {
  const std::string field_key = childKey(route_key, field);
  const auto report = [&](const toml::node* node, const std::string& key, absl::string_view what) {
    sink.add(node != nullptr ? positionOf(*node) : positionOf(route_table), key,
             absl::StrCat("route ", inQuotes(route.name), ": ", what));
  };
  // Each name once over set, add and remove: "set X" and "remove X" together say two things.
  std::vector<std::string> seen;
  const auto checkName = [&](const std::string& name, http::HeaderOp op, const toml::node* node,
                             const std::string& key) {
    if (absl::Status editable = http::checkEditableHeader(name, direction, op); !editable.ok()) {
      report(node, key, editable.message());
      return false;
    }
    const std::string lower = absl::AsciiStrToLower(name);
    if (std::find(seen.begin(), seen.end(), lower) != seen.end()) {
      report(node, key,
             absl::StrCat("header ", name, " appears more than once in set, add and remove"));
      return false;
    }
    seen.push_back(lower);
    return true;
  };
  for (const auto op : {http::HeaderOp::kSet, http::HeaderOp::kAdd}) {
    const auto& values = op == http::HeaderOp::kSet ? rules.set : rules.add;
    const std::string op_key = childKey(field_key, opName(op));
    for (const auto& [name, text] : values) {
      const std::string key = childKey(op_key, name);
      const toml::node* node = route_table[field][opName(op)][name].node();
      if (!checkName(name, op, node, key)) continue;
      if (absl::Status valid = checkTemplate(text, direction == http::HeaderDirection::kResponse);
          !valid.ok()) {
        report(node, key, absl::StrCat("header ", name, ": ", valid.message()));
      }
    }
  }
  for (size_t i = 0; i < rules.remove.size(); ++i) {
    const std::string key = indexKey(childKey(field_key, "remove"), i);
    checkName(rules.remove[i], http::HeaderOp::kRemove, route_table[field]["remove"][i].node(),
              key);
  }
}

int countPresent(const toml::table& table, std::initializer_list<std::string_view> keys) {
  int count = 0;
  for (std::string_view key : keys) count += table.contains(key) ? 1 : 0;
  return count;
}

}  // namespace

const TableSchema<HeaderRulesConfig>& headerRulesSchema() {
  using H = HeaderRulesConfig;
  static const TableSchema<H> schema{
      .fields =
          {
              headerMapField("set", &H::set),
              headerMapField("add", &H::add),
              stringListField("remove", &H::remove, checkHeaderName),
          },
  };
  return schema;
}

const TableSchema<PathRewriteConfig>& pathRewriteSchema() {
  using P = PathRewriteConfig;
  static const TableSchema<P> schema{
      .fields =
          {
              required(stringField("pattern", &P::pattern)),
              required(stringField("replacement", &P::replacement)),
          },
  };
  return schema;
}

const TableSchema<RedirectConfig>& redirectSchema() {
  using R = RedirectConfig;
  static const TableSchema<R> schema{
      .fields =
          {
              Field<R>{
                  "status",
                  [](const toml::node& node, const std::string& key, R& out, ErrorSink& sink) {
                    auto value = readInteger(node, key, 300, 399, sink);
                    if (!value) return;
                    constexpr std::array<int64_t, 5> kAllowed = {301, 302, 303, 307, 308};
                    if (std::find(kAllowed.begin(), kAllowed.end(), *value) == kAllowed.end()) {
                      sink.add(positionOf(node), key,
                               absl::StrCat("expected 301, 302, 303, 307 or 308, got ", *value));
                      return;
                    }
                    out.status = static_cast<int>(*value);
                  }},
              required(stringField("location", &R::location)),
          },
  };
  return schema;
}

const TableSchema<RespondConfig>& respondSchema() {
  using R = RespondConfig;
  static const TableSchema<R> schema{
      .fields =
          {
              integerField("status", &R::status, 200, 599),
              stringField("body", &R::body),
              Field<R>{"content_type",
                       [](const toml::node& node, const std::string& key, R& out, ErrorSink& sink) {
                         auto value = readString(node, key, sink);
                         if (!value) return;
                         if (value->find_first_of("\r\n") != std::string::npos) {
                           sink.add(positionOf(node), key, "expected a value without CR or LF");
                           return;
                         }
                         out.content_type = *value;
                       }},
          },
  };
  return schema;
}

void checkRouteShaping(const toml::table& table, const std::string& key, RouteConfig& route,
                       ErrorSink& sink) {
  const int answers = countPresent(table, {"pool", "redirect", "respond"});
  if (answers == 0) {
    sink.add(positionOf(table), childKey(key, "pool"),
             "required key is missing (or redirect or respond, for a route that answers itself)");
  } else if (answers > 1) {
    sink.add(positionOf(table), key,
             absl::StrCat("route ", inQuotes(route.name),
                          ": expected exactly one of pool, redirect or respond (a route either "
                          "forwards to a pool or answers itself)"));
  }
  if (route.answersLocally()) {
    // Nothing is forwarded: keys about forwarding would silently do nothing.
    for (std::string_view forwarding :
         {"rules", "canary", "mirror", "sticky", "pool_header", "request_headers", "strip_prefix",
          "add_prefix", "rewrite"}) {
      if (const toml::node* node = table[forwarding].node()) {
        sink.add(positionOf(*node), childKey(key, forwarding),
                 absl::StrCat("route ", inQuotes(route.name), " answers itself (",
                              route.redirect ? "redirect" : "respond",
                              ") and forwards nothing: remove ", core::toAbsl(forwarding)));
      }
    }
  }
  if (route.request_headers) {
    checkHeaderRules(table, key, route, "request_headers", *route.request_headers,
                     http::HeaderDirection::kRequest, sink);
  }
  if (route.response_headers) {
    checkHeaderRules(table, key, route, "response_headers", *route.response_headers,
                     http::HeaderDirection::kResponse, sink);
  }
  if (route.rewrite) {
    const std::string rewrite_key = childKey(key, "rewrite");
    if (!sink.hasErrorAt(childKey(rewrite_key, "pattern")) &&
        !sink.hasErrorAt(childKey(rewrite_key, "replacement"))) {
      http::PathRewrite rewrite;
      if (absl::Status valid =
              rewrite.setRewrite(route.rewrite->pattern, route.rewrite->replacement);
          !valid.ok()) {
        sink.add(positionOf(*table["rewrite"].node()), rewrite_key,
                 absl::StrCat("route ", inQuotes(route.name), ": ", valid.message()));
      }
    }
  }
  if (route.redirect) {
    const std::string location_key = childKey(childKey(key, "redirect"), "location");
    if (!sink.hasErrorAt(location_key)) {
      if (absl::Status valid = checkTemplate(route.redirect->location, false); !valid.ok()) {
        const toml::node* node = table["redirect"]["location"].node();
        sink.add(node != nullptr ? positionOf(*node) : positionOf(table), location_key,
                 absl::StrCat("route ", inQuotes(route.name), ": ", valid.message()));
      }
    }
  }
}

}  // namespace sy::routing::config
