// The traffic-switching route keys: rules, canary, sticky and pool_header. Good values land in
// the right fields; each mistake gives one error with its key and line.

#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using ::testing::IsEmpty;

// Two pools and a route that is the last table, so that appended keys belong to the route.
constexpr std::string_view kBase = R"([[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "green"
backends = ["127.0.0.1:8082"]
[[routes]]
name = "web"
pool = "blue"
)";
constexpr int kBaseLines = 11;

LoadResult parseRoute(std::string_view extra) {
  if (!extra.empty() && extra.front() == '\n') extra.remove_prefix(1);
  return parseConfigText(std::string(kBase) + std::string(extra), "test.toml");
}

// Line `n` of the appended text.
constexpr int line(int n) { return kBaseLines + n; }

TEST(RouteConfigTest, NewKeysDefaultToNothing) {
  const LoadResult result = parseRoute("");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const RouteConfig& route = result.config->routes[0];
  EXPECT_THAT(route.rules, IsEmpty());
  EXPECT_FALSE(route.canary.has_value());
  EXPECT_FALSE(route.sticky.has_value());
  EXPECT_EQ(route.pool_header, "");
}

TEST(RouteConfigTest, EveryKeyParses) {
  const LoadResult result = parseRoute(R"(
sticky = "header:X-User-ID"
pool_header = "X-Switchyard-Pool"
canary = { pool = "green", weight = 0.5 }
[[routes.rules]]
header = "X-Version"
equals = "canary"
pool = "green"
[[routes.rules]]
cookie = "Group"
prefix = "beta-"
pool = "green"
[[routes.rules]]
query = "variant"
present = true
pool = "blue"
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const RouteConfig& route = result.config->routes[0];

  ASSERT_TRUE(route.sticky.has_value());
  EXPECT_EQ(route.sticky->source, HashKeyConfig::Source::kHeader);
  EXPECT_EQ(route.sticky->name, "x-user-id");
  EXPECT_EQ(route.sticky->text, "header:X-User-ID");
  EXPECT_EQ(route.pool_header, "X-Switchyard-Pool");  // sent as written
  ASSERT_TRUE(route.canary.has_value());
  EXPECT_EQ(route.canary->pool, "green");
  EXPECT_EQ(route.canary->weight, 0.5);

  ASSERT_EQ(route.rules.size(), 3u);
  const MatchRuleConfig& header = route.rules[0];
  EXPECT_EQ(header.source, MatchRuleConfig::Source::kHeader);
  EXPECT_EQ(header.name, "x-version");  // lower-cased: header names ignore case
  EXPECT_EQ(header.op, MatchRuleConfig::Op::kEquals);
  EXPECT_EQ(header.value, "canary");
  EXPECT_EQ(header.pool, "green");
  EXPECT_EQ(header.position.line, line(4));

  const MatchRuleConfig& cookie = route.rules[1];
  EXPECT_EQ(cookie.source, MatchRuleConfig::Source::kCookie);
  EXPECT_EQ(cookie.name, "Group");  // cookie names are case-sensitive
  EXPECT_EQ(cookie.op, MatchRuleConfig::Op::kPrefix);
  EXPECT_EQ(cookie.value, "beta-");
  EXPECT_EQ(cookie.position.line, line(8));

  const MatchRuleConfig& query = route.rules[2];
  EXPECT_EQ(query.source, MatchRuleConfig::Source::kQuery);
  EXPECT_EQ(query.name, "variant");
  EXPECT_EQ(query.op, MatchRuleConfig::Op::kPresent);
  EXPECT_EQ(query.pool, "blue");  // a rule may pin the route's own pool
}

TEST(RouteConfigTest, InlineRulesIntegerWeightAndOtherStickyKinds) {
  const LoadResult result = parseRoute(R"(
rules = [{ query = "beta", equals = "1", pool = "green" }]
canary = { pool = "green", weight = 5 }
sticky = "cookie:SID"
[[routes]]
name = "api"
pool = "green"
sticky = "client_ip"
canary = { pool = "blue", weight = 100 }
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  const RouteConfig& web = result.config->routes[0];
  ASSERT_EQ(web.rules.size(), 1u);
  EXPECT_EQ(web.rules[0].source, MatchRuleConfig::Source::kQuery);
  EXPECT_EQ(web.rules[0].value, "1");
  EXPECT_EQ(web.canary->weight, 5.0);
  EXPECT_EQ(web.sticky->source, HashKeyConfig::Source::kCookie);
  EXPECT_EQ(web.sticky->name, "SID");
  const RouteConfig& api = result.config->routes[1];
  EXPECT_EQ(api.sticky->source, HashKeyConfig::Source::kClientIp);
  EXPECT_EQ(api.canary->pool, "blue");
  EXPECT_EQ(api.canary->weight, 100.0);
}

TEST(RouteConfigTest, CanaryWeightZeroIsAccepted) {
  const LoadResult result = parseRoute(R"(
canary = { pool = "green", weight = 0 }
)");
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->routes[0].canary->weight, 0.0);
}

// --- rules ---

TEST(RouteConfigErrorsTest, RuleWithTwoSources) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
cookie = "b"
equals = "1"
pool = "green"
)"),
                    line(1), "routes[0].rules[0]",
                    "expected exactly one of header, cookie or query");
}

TEST(RouteConfigErrorsTest, RuleWithoutSource) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
pool = "green"
equals = "1"
)"),
                    line(1), "routes[0].rules[0]",
                    "expected exactly one of header, cookie or query");
}

TEST(RouteConfigErrorsTest, RuleWithTwoComparisons) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
equals = "1"
prefix = "1"
pool = "green"
)"),
                    line(1), "routes[0].rules[0]",
                    "expected exactly one of equals, prefix or present = true");
}

TEST(RouteConfigErrorsTest, RuleWithoutComparison) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
pool = "green"
)"),
                    line(1), "routes[0].rules[0]",
                    "expected exactly one of equals, prefix or present = true");
}

TEST(RouteConfigErrorsTest, InlineRuleErrorIsAtTheInlineTable) {
  const LoadResult result = parseRoute(R"(
rules = [{ header = "x-a", pool = "green" }]
)");
  EXPECT_ONLY_ERROR(result, line(1), "routes[0].rules[0]", "expected exactly one of equals");
}

TEST(RouteConfigErrorsTest, PresentFalse) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = false
pool = "green"
)"),
                    line(3), "routes[0].rules[0].present", "expected true");
}

TEST(RouteConfigErrorsTest, PresentNotABoolean) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = "yes"
pool = "green"
)"),
                    line(3), "routes[0].rules[0].present", "true or false");
}

TEST(RouteConfigErrorsTest, EqualsNotAString) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
query = "a"
equals = 1
pool = "green"
)"),
                    line(3), "routes[0].rules[0].equals", "expected");
}

TEST(RouteConfigErrorsTest, RuleWithBadHeaderName) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x version"
equals = "1"
pool = "green"
)"),
                    line(2), "routes[0].rules[0].header", "\"x version\"");
}

TEST(RouteConfigErrorsTest, RuleWithEmptyQueryName) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
query = ""
present = true
pool = "green"
)"),
                    line(2), "routes[0].rules[0].query", "non-empty");
}

TEST(RouteConfigErrorsTest, RuleNamingAnUnknownPool) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = true
pool = "purple"
)"),
                    line(4), "routes[0].rules[0].pool",
                    "unknown pool \"purple\" (defined: blue, green)");
}

TEST(RouteConfigErrorsTest, RuleWithoutPool) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = true
)"),
                    line(1), "routes[0].rules[0].pool", "required");
}

TEST(RouteConfigErrorsTest, UnknownKeyInRule) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = true
pool = "green"
value = "1"
)"),
                    line(5), "routes[0].rules[0].value", "unknown key");
}

TEST(RouteConfigErrorsTest, SecondRuleIsNamedByItsIndex) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
[[routes.rules]]
header = "x-a"
present = true
pool = "green"
[[routes.rules]]
header = "x-b"
present = true
pool = "nope"
)"),
                    line(8), "routes[0].rules[1].pool", "unknown pool \"nope\"");
}

// --- canary ---

TEST(RouteConfigErrorsTest, CanaryNamingAnUnknownPool) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
canary = { pool = "purple", weight = 5 }
)"),
                    line(1), "routes[0].canary.pool", "unknown pool \"purple\"");
}

TEST(RouteConfigErrorsTest, CanaryOnTheRoutesOwnPool) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
canary = { pool = "blue", weight = 5 }
)"),
                    line(1), "routes[0].canary.pool", "is the route's own pool");
}

TEST(RouteConfigErrorsTest, CanaryWeightOutOfRangeOrNotANumber) {
  const struct {
    std::string_view weight;
    std::string_view got;
  } kCases[] = {
      {"-1", "got -1"},       {"101", "got 101"},
      {"100.5", "got 100.5"}, {"\"abc\"", "got string \"abc\""},
      {"nan", "got nan"},     {"inf", "got inf"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.weight);
    const LoadResult result =
        parseRoute("[routes.canary]\npool = \"green\"\nweight = " + std::string(c.weight) + "\n");
    EXPECT_ONLY_ERROR(result, line(3), "routes[0].canary.weight",
                      "expected a number between 0 and 100");
    if (!result.errors.empty()) {
      EXPECT_THAT(result.errors[0].message, ::testing::HasSubstr(std::string(c.got)));
    }
  }
}

TEST(RouteConfigErrorsTest, CanaryWithoutWeightOrPool) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
canary = { pool = "green" }
)"),
                    line(1), "routes[0].canary.weight", "required");
  EXPECT_ONLY_ERROR(parseRoute(R"(
canary = { weight = 5 }
)"),
                    line(1), "routes[0].canary.pool", "required");
}

TEST(RouteConfigErrorsTest, CanaryNotATable) {
  EXPECT_ONLY_ERROR(parseRoute(R"(
canary = "green"
)"),
                    line(1), "routes[0].canary", "expected a table");
}

// --- sticky and pool_header ---

TEST(RouteConfigErrorsTest, BadStickySyntax) {
  for (const std::string_view sticky :
       {"header:", "cookie:", "header:x user", "ip", "client-ip", "header", "query:a", ""}) {
    SCOPED_TRACE(sticky);
    EXPECT_ONLY_ERROR(parseRoute("sticky = \"" + std::string(sticky) + "\"\n"), line(1),
                      "routes[0].sticky", "expected");
  }
}

TEST(RouteConfigErrorsTest, BadHeaderNameInPoolHeader) {
  for (const std::string_view name : {"X Pool", "", "X-Pool:", "Pöol"}) {
    SCOPED_TRACE(name);
    EXPECT_ONLY_ERROR(parseRoute("pool_header = \"" + std::string(name) + "\"\n"), line(1),
                      "routes[0].pool_header", "header name");
  }
}

}  // namespace
}  // namespace sy::routing::config
