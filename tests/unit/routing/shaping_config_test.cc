// Request shaping keys (issue 15, part B): sizes, max_body, request_id and [access_log] fields.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/value_rules.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using testing_util::parse;
using testing_util::parseWithMinimal;

TEST(ShapingConfigTest, ByteSizes) {
  EXPECT_EQ(*parseByteSize("0"), 0u);
  EXPECT_EQ(*parseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*parseByteSize("512B"), 512u);
  EXPECT_EQ(*parseByteSize("64KiB"), 64u * 1024);
  EXPECT_EQ(*parseByteSize("1MiB"), 1024u * 1024);
  EXPECT_EQ(*parseByteSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*parseByteSize("10kB"), 10000u);
  EXPECT_EQ(*parseByteSize("5MB"), 5000000u);
  EXPECT_EQ(*parseByteSize("1GB"), 1000000000u);
  EXPECT_EQ(*parseByteSize("64k"), 64u * 1024);  // nginx's units
  EXPECT_EQ(*parseByteSize("1m"), 1024u * 1024);
  EXPECT_EQ(*parseByteSize("1024GiB"), 1ull << 40);
  for (const char* bad : {"", "MiB", "1 MiB", "1.5MiB", "-1", "1mib", "1TiB", "1025GiB",
                          "99999999999999999999999", "1MiBs"}) {
    EXPECT_FALSE(parseByteSize(bad).ok()) << bad;
  }
  EXPECT_THAT(std::string(parseByteSize("1 MiB").status().message()),
              ::testing::HasSubstr("expected a size such as \"1MiB\""));
}

TEST(ShapingConfigTest, RequestIdHeaders) {
  EXPECT_EQ(*checkRequestIdHeader("X-Request-ID"), "X-Request-ID");
  EXPECT_EQ(*checkRequestIdHeader(""), "");
  for (const char* bad : {"X Request", "Content-Length", "host", "Connection", "traceparent",
                          "Transfer-Encoding", "X-Id:"}) {
    EXPECT_FALSE(checkRequestIdHeader(bad).ok()) << bad;
  }
  EXPECT_TRUE(acceptableRequestId("abc-123"));
  EXPECT_FALSE(acceptableRequestId(""));
  EXPECT_FALSE(acceptableRequestId("a b"));
  EXPECT_FALSE(acceptableRequestId("caf\xc3\xa9"));
  EXPECT_FALSE(acceptableRequestId(std::string(201, 'a')));
  EXPECT_TRUE(acceptableRequestId(std::string(200, 'a')));
}

TEST(ShapingConfigTest, ListenerAndRouteKeys) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
max_body = "1MiB"
request_id = "X-Request-ID"
request_id_mode = "always"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "upload"
pool = "blue"
max_body = 0
request_id = "X-Trace"
request_id_mode = "if_absent"
[[routes]]
name = "default"
pool = "blue"
max_body = "64k"
)");
  ASSERT_TRUE(result.config.has_value()) << result.errors.size();
  const ListenerConfig& listener = result.config->listeners[0];
  EXPECT_EQ(listener.max_body, 1024u * 1024);
  EXPECT_EQ(listener.request_id, "X-Request-ID");
  EXPECT_EQ(listener.request_id_mode, RequestIdMode::kAlways);
  const RouteConfig& upload = result.config->routes[0];
  EXPECT_EQ(upload.max_body, std::optional<uint64_t>(0));
  EXPECT_EQ(upload.request_id, std::optional<std::string>("X-Trace"));
  EXPECT_EQ(upload.request_id_mode, std::optional(RequestIdMode::kIfAbsent));
  const RouteConfig& fallback = result.config->routes[1];
  EXPECT_EQ(fallback.max_body, std::optional<uint64_t>(64 * 1024));
  EXPECT_FALSE(fallback.request_id.has_value());
}

TEST(ShapingConfigTest, BadValuesAreReportedWithTheirKey) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(max_body = "lots"
)"),
                    9, "routes[0].max_body", "expected a size");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(request_id_mode = "sometimes"
)"),
                    9, "routes[0].request_id_mode", "one of \"if_absent\", \"always\"");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(request_id = "Content-Length"
)"),
                    9, "routes[0].request_id", "other than a framing");
}

TEST(ShapingConfigTest, AccessLogFields) {
  const LoadResult good = parseWithMinimal(R"(
[access_log]
fields = ["time", "client_ip", "host", "request_id", "upstream_connect_ms", "status"]
)");
  ASSERT_TRUE(good.config.has_value());
  EXPECT_THAT(good.config->access_log->fields,
              ::testing::ElementsAre(AccessLogField::kTime, AccessLogField::kClientIp,
                                     AccessLogField::kHost, AccessLogField::kRequestId,
                                     AccessLogField::kUpstreamConnectMs, AccessLogField::kStatus));
  const LoadResult defaults = parseWithMinimal(R"(
[access_log]
path = "-"
)");
  ASSERT_TRUE(defaults.config.has_value());
  EXPECT_TRUE(defaults.config->access_log->fields.empty()) << "the default set";

  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[access_log]
fields = ["time", "colour"]
)"),
                    10, "access_log.fields[1]", "got \"colour\"");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[access_log]
fields = ["time", "time"]
)"),
                    10, "access_log.fields[1]", "listed twice");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[access_log]
fields = []
)"),
                    10, "access_log.fields", "non-empty array");
}

TEST(ShapingConfigTest, EveryFieldNameRoundTrips) {
  for (std::string_view name : accessLogFieldNames()) {
    const std::optional<AccessLogField> field = accessLogFieldByName(name);
    ASSERT_TRUE(field.has_value()) << name;
    EXPECT_EQ(accessLogFieldName(*field), name);
  }
  EXPECT_FALSE(accessLogFieldByName("Time").has_value());
}

}  // namespace
}  // namespace sy::routing::config
