// The request-shaping route keys (request_headers, response_headers, strip_prefix, add_prefix,
// rewrite, redirect, respond): good values land in the model and compile into the snapshot's
// RouteShaping; each mistake is refused with its key, line, the route's name and the header.

#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "routing/route_shaping.h"
#include "routing/traffic_state.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

// A pool and the start of a route named "api" that is the last table.
constexpr std::string_view kShapingBase = R"([[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "api"
)";
constexpr int kShapingBaseLines = 7;

LoadResult parseShapingRoute(std::string_view extra) {
  if (!extra.empty() && extra.front() == '\n') extra.remove_prefix(1);
  return parseConfigText(std::string(kShapingBase) + std::string(extra), "test.toml");
}

constexpr int shapingLine(int n) { return kShapingBaseLines + n; }

TEST(RouteShapingConfigTest, EveryKeyParsesAndCompiles) {
  const LoadResult result = parseShapingRoute(R"(
pool = "blue"
strip_prefix = "/api"
add_prefix = "/v2"
rewrite = { pattern = "^/v2/old/(.*)$", replacement = "/v2/new/\\1" }
request_headers = { set = { "X-Env" = "prod", Host = "{host}" }, add = { "X-Client" = "{client_ip}" }, remove = ["X-Debug"] }
response_headers = { set = { "X-Served-By" = "{backend}" }, remove = ["Server"] }
)");
  ASSERT_TRUE(result.ok()) << result.errors.front().toString();
  const RouteConfig& route = result.config->routes[0];
  ASSERT_TRUE(route.request_headers.has_value());
  EXPECT_EQ(route.request_headers->set.at("X-Env"), "prod");
  EXPECT_EQ(route.request_headers->add.at("X-Client"), "{client_ip}");
  EXPECT_THAT(route.request_headers->remove, ::testing::ElementsAre("X-Debug"));
  EXPECT_EQ(route.strip_prefix, "/api");
  EXPECT_EQ(route.add_prefix, "/v2");
  ASSERT_TRUE(route.rewrite.has_value());
  EXPECT_EQ(route.rewrite->replacement, "/v2/new/\\1");

  const auto shaping = buildRouteShaping(route);
  ASSERT_NE(shaping, nullptr);
  ASSERT_TRUE(shaping->request_headers.has_value());
  EXPECT_TRUE(shaping->request_headers->drops("x-env"));
  EXPECT_TRUE(shaping->request_headers->drops("HOST"));
  EXPECT_TRUE(shaping->request_headers->drops("x-debug"));
  EXPECT_FALSE(shaping->request_headers->drops("x-client"));
  EXPECT_EQ(shaping->request_headers->lines.size(), 3u);
  ASSERT_TRUE(shaping->path.has_value());
  std::string target;
  shaping->path->apply("/api/old/x?q=1", &target);
  EXPECT_EQ(target, "/v2/new/x?q=1");
  EXPECT_FALSE(shaping->answer.has_value());
}

TEST(RouteShapingConfigTest, PlainRouteHasNoShaping) {
  const LoadResult result = parseShapingRoute("pool = \"blue\"\n");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(buildRouteShaping(result.config->routes[0]), nullptr);
}

TEST(RouteShapingConfigTest, RedirectAndRespondNeedNoPool) {
  const LoadResult result = parseShapingRoute(R"(
redirect = { status = 301, location = "https://{host}{path}" }
[[routes]]
name = "maintenance"
path_prefix = "/down/"
respond = { status = 503, body = "back soon\n" }
)");
  ASSERT_TRUE(result.ok()) << result.errors.front().toString();
  const RouteConfig& moved = result.config->routes[0];
  EXPECT_TRUE(moved.pool.empty());
  EXPECT_TRUE(moved.answersLocally());
  const auto redirect = buildRouteShaping(moved);
  ASSERT_NE(redirect, nullptr);
  ASSERT_TRUE(redirect->answer.has_value());
  EXPECT_EQ(redirect->answer->status, 301);
  ASSERT_TRUE(redirect->answer->location.has_value());
  http::TemplateValues values;
  values.host = "example.com";
  values.path = "/a?b";
  EXPECT_EQ(redirect->answer->location->expand(values), "https://example.com/a?b");
  const RespondConfig& respond = *result.config->routes[1].respond;
  EXPECT_EQ(respond.status, 503);
  EXPECT_EQ(respond.body, "back soon\n");
  EXPECT_EQ(respond.content_type, "text/plain; charset=utf-8");
}

TEST(RouteShapingConfigTest, RoutesThatAnswerThemselvesHaveNoTrafficState) {
  const LoadResult result = parseShapingRoute(R"(
pool = "blue"
[[routes]]
name = "moved"
redirect = { location = "https://{host}{path}" }
)");
  ASSERT_TRUE(result.ok()) << result.errors.front().toString();
  TrafficState traffic;
  EXPECT_THAT(traffic.reconcile(*result.config), ::testing::IsEmpty());
  EXPECT_NE(traffic.find("api"), nullptr);
  EXPECT_EQ(traffic.find("moved"), nullptr);
  const absl::Status refused = traffic.switchTo("moved", "blue", *result.config);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("answers itself"), std::string::npos) << refused;
  EXPECT_EQ(traffic.switchTo("nope", "blue", *result.config).code(), absl::StatusCode::kNotFound);
}

TEST(RouteShapingConfigErrorsTest, HopByHopHeadersAreRefusedNamingRouteAndHeader) {
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
request_headers = { set = { Connection = "close" } }
)"),
                    shapingLine(2), "routes[0].request_headers.set.Connection",
                    "route \"api\": Connection cannot be set");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
response_headers = { remove = ["Transfer-Encoding"] }
)"),
                    shapingLine(2), "routes[0].response_headers.remove[0]",
                    "route \"api\": Transfer-Encoding cannot be removed");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
response_headers = { add = { "Content-Length" = "3" } }
)"),
                    shapingLine(2), "routes[0].response_headers.add.Content-Length",
                    "Content-Length cannot be added");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
response_headers = { set = { Host = "x" } }
)"),
                    shapingLine(2), "routes[0].response_headers.set.Host", "Host cannot be set");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
request_headers = { remove = ["Host"] }
)"),
                    shapingLine(2), "routes[0].request_headers.remove[0]", "use set");
}

TEST(RouteShapingConfigErrorsTest, TemplatesAreChecked) {
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
request_headers = { set = { "X-A" = "{hostname}" } }
)"),
                    shapingLine(2), "routes[0].request_headers.set.X-A",
                    "unknown variable {hostname}");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
request_headers = { add = { "X-B" = "{backend}" } }
)"),
                    shapingLine(2), "routes[0].request_headers.add.X-B", "response_headers");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
redirect = { location = "https://{nope}/" }
)"),
                    shapingLine(1), "routes[0].redirect.location", "unknown variable {nope}");
}

TEST(RouteShapingConfigErrorsTest, OneNameOnceOverSetAddRemove) {
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
request_headers = { set = { "X-A" = "1" }, remove = ["x-a"] }
)"),
                    shapingLine(2), "routes[0].request_headers.remove[0]", "more than once");
}

TEST(RouteShapingConfigErrorsTest, PoolRedirectAndRespondExcludeEachOther) {
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
redirect = { location = "/x" }
)"),
                    shapingLine(-1), "routes[0]", "exactly one of pool, redirect or respond");
  EXPECT_ONLY_ERROR(parseShapingRoute("path_prefix = \"/\"\n"), shapingLine(-1), "routes[0].pool",
                    "required key is missing");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
respond = { status = 404 }
strip_prefix = "/a"
)"),
                    shapingLine(2), "routes[0].strip_prefix", "forwards nothing");
}

TEST(RouteShapingConfigErrorsTest, BadValues) {
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
redirect = { status = 300, location = "/x" }
)"),
                    shapingLine(1), "routes[0].redirect.status", "301, 302, 303, 307 or 308");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
redirect = { status = 301 }
)"),
                    shapingLine(1), "routes[0].redirect.location", "required key is missing");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
rewrite = { pattern = "^/(a$", replacement = "/" }
)"),
                    shapingLine(2), "routes[0].rewrite", "invalid pattern");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
rewrite = { pattern = "^/(a)$", replacement = "/\\2" }
)"),
                    shapingLine(2), "routes[0].rewrite", "invalid replacement");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
pool = "blue"
strip_prefix = "api"
)"),
                    shapingLine(2), "routes[0].strip_prefix", "");
  EXPECT_ONLY_ERROR(parseShapingRoute(R"(
respond = { status = 99 }
)"),
                    shapingLine(1), "routes[0].respond.status", "");
}

}  // namespace
}  // namespace sy::routing::config
