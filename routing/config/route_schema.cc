#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

// While a rule is read: which keys were given, so that the check can insist on exactly one
// source and one comparison.
struct RuleDraft {
  MatchRuleConfig rule;
  int sources = 0;
  int comparisons = 0;
};

Field<MatchRuleConfig> sourceField(std::string_view name, MatchRuleConfig::Source source) {
  return {name, [source](const toml::node& node, const std::string& key, MatchRuleConfig& out,
                         ErrorSink& sink) {
            auto value = readString(node, key, sink);
            if (!value) return;
            if (source != MatchRuleConfig::Source::kQuery && !checkHeaderName(*value).ok()) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected a name made of letters, digits and "
                                    "!#$%&'*+-.^_`|~, got ",
                                    inQuotes(*value)));
              return;
            }
            if (value->empty()) {
              sink.add(positionOf(node), key, "expected a non-empty name");
              return;
            }
            out.source = source;
            // Header names compare case-insensitively: store them lower-case.
            out.name = source == MatchRuleConfig::Source::kHeader
                           ? absl::AsciiStrToLower(core::toAbsl(*value))
                           : *value;
          }};
}

Field<MatchRuleConfig> comparisonField(std::string_view name, MatchRuleConfig::Op op) {
  return {name, [op](const toml::node& node, const std::string& key, MatchRuleConfig& out,
                     ErrorSink& sink) {
            if (op == MatchRuleConfig::Op::kPresent) {
              auto value = readBool(node, key, sink);
              if (!value) return;
              if (!*value) {
                sink.add(positionOf(node), key,
                         "expected true (a rule cannot match on absence; leave the key out)");
                return;
              }
            } else {
              auto value = readString(node, key, sink);
              if (!value) return;
              out.value = *value;
            }
            out.op = op;
          }};
}

int countKeys(const toml::table& table, std::initializer_list<std::string_view> keys) {
  int count = 0;
  for (std::string_view key : keys) count += table.contains(key) ? 1 : 0;
  return count;
}

}  // namespace

const TableSchema<MatchRuleConfig>& matchRuleSchema() {
  using M = MatchRuleConfig;
  static const TableSchema<M> schema{
      .fields =
          {
              sourceField("header", M::Source::kHeader),
              sourceField("cookie", M::Source::kCookie),
              sourceField("query", M::Source::kQuery),
              comparisonField("equals", M::Op::kEquals),
              comparisonField("prefix", M::Op::kPrefix),
              comparisonField("present", M::Op::kPresent),
              // Whether the pool exists is a document check.
              required(stringField("pool", &M::pool)),
          },
      .prepare = [](const toml::table& table, size_t, M& out) { out.position = positionOf(table); },
      .check =
          [](const toml::table& table, const std::string& key, M&, ErrorSink& sink) {
            if (countKeys(table, {"header", "cookie", "query"}) != 1) {
              sink.add(positionOf(table), key, "expected exactly one of header, cookie or query");
            }
            if (countKeys(table, {"equals", "prefix", "present"}) != 1) {
              sink.add(positionOf(table), key,
                       "expected exactly one of equals, prefix or present = true");
            }
          },
  };
  return schema;
}

const TableSchema<CanaryConfig>& canarySchema() {
  using C = CanaryConfig;
  static const TableSchema<C> schema{
      .fields =
          {
              required(stringField("pool", &C::pool)),
              required(numberField("weight", &C::weight, 0.0, 100.0)),
          },
  };
  return schema;
}

const TableSchema<MirrorConfig>& mirrorSchema() {
  using M = MirrorConfig;
  static const TableSchema<M> schema{
      .fields =
          {
              required(stringField("pool", &M::pool)),
              required(numberField("percent", &M::percent, 0.0, 100.0)),
              stringListField("methods", &M::methods, checkMethod),
              integerField("max_body_bytes", &M::max_body_bytes, 0, int64_t{1} << 40),
              parsedField("host_suffix", &M::host_suffix, checkHostSuffix),
              Field<M>{"header",
                       [](const toml::node& node, const std::string& key, M& out, ErrorSink& sink) {
                         auto value = readString(node, key, sink);
                         if (!value) return;
                         if (!value->empty() && !checkHeaderName(*value).ok()) {
                           sink.add(positionOf(node), key,
                                    absl::StrCat("expected a header name or \"\" for none, got ",
                                                 inQuotes(*value)));
                           return;
                         }
                         out.header = *value;
                       }},
              durationField("timeout", &M::timeout, absl::Milliseconds(1), absl::Hours(1)),
              integerField("max_in_flight", &M::max_in_flight, 1, 100000),
              integerField("max_buffer_bytes", &M::max_buffer_bytes, 1024, int64_t{1} << 30),
          },
  };
  return schema;
}

const TableSchema<RouteConfig>& routeSchema() {
  using R = RouteConfig;
  static const TableSchema<R> schema{
      .fields =
          {
              required(parsedField("name", &R::name, checkName)),
              stringListField("hosts", &R::hosts, normalizeHostPattern),
              stringListField("sni", &R::sni, normalizeSniPattern),
              parsedField("path_prefix", &R::path_prefix, checkRoutePathPrefix),
              // Whether the pool exists is a document check: pools may come after routes. A
              // route without one answers itself (checkRouteShaping).
              stringField("pool", &R::pool),
              integerField("retries", &R::retries, 0, 10),
              tableArrayField("rules", &R::rules, matchRuleSchema, "[[routes.rules]]"),
              tableField("canary", &R::canary, canarySchema),
              parsedField("sticky", &R::sticky, parseHashKey),
              parsedField("pool_header", &R::pool_header, checkHeaderName),
              tableField("mirror", &R::mirror, mirrorSchema),
              Field<R>{"rate_limit",
                       [](const toml::node& node, const std::string& key, R& out, ErrorSink& sink) {
                         if (auto value = readNumber(node, key, 0.0, 1000000.0, sink)) {
                           out.rate_limit = *value;
                         }
                       }},
              integerField("rate_limit_burst", &R::rate_limit_burst, 1, 1000000),
              tableField("request_headers", &R::request_headers, headerRulesSchema),
              tableField("response_headers", &R::response_headers, headerRulesSchema),
              parsedField("strip_prefix", &R::strip_prefix, checkPathPrefix),
              parsedField("add_prefix", &R::add_prefix, checkPathPrefix),
              tableField("rewrite", &R::rewrite, pathRewriteSchema),
              tableField("redirect", &R::redirect, redirectSchema),
              tableField("respond", &R::respond, respondSchema),
              byteSizeField("max_body", &R::max_body),
              parsedField("request_id", &R::request_id, checkRequestIdHeader),
              Field<R>{"request_id_mode",
                       [](const toml::node& node, const std::string& key, R& out, ErrorSink& sink) {
                         static constexpr std::string_view kModes[] = {"if_absent", "always"};
                         if (auto index = readChoice(node, key, kModes, sink)) {
                           out.request_id_mode =
                               *index == 0 ? RequestIdMode::kIfAbsent : RequestIdMode::kAlways;
                         }
                       }},
          },
      .prepare = [](const toml::table& table, size_t, R& out) { out.position = positionOf(table); },
      .check =
          [](const toml::table& table, const std::string& key, R& out, ErrorSink& sink) {
            checkRateLimitBurst(table, key, out.rate_limit.value_or(0) > 0, sink);
            checkRouteShaping(table, key, out, sink);
          },
  };
  return schema;
}

}  // namespace sy::routing::config
