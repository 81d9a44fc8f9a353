// Bad input: each kind of mistake gives one error, with the key, line and expectation an operator
// needs to fix it, and nothing else (no follow-on errors).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::IsError;
using testing_util::kMinimalLines;
using testing_util::parse;
using testing_util::parseWithMinimal;

TEST(ConfigErrorsTest, TomlSyntaxErrorHasTomlPosition) {
  const LoadResult result = parse(R"(
[server]
workers = 4
shutdown_timeout = "5s
)");
  ASSERT_EQ(result.errors.size(), 1u);
  const ConfigError& error = result.errors[0];
  EXPECT_EQ(error.file, "test.toml");
  EXPECT_EQ(error.line, 3);
  EXPECT_GT(error.column, 1);
  EXPECT_EQ(error.key, "");
  EXPECT_THAT(error.message, HasSubstr("string"));
  EXPECT_FALSE(result.config.has_value());
}

TEST(ConfigErrorsTest, KeyDefinedTwiceIsASyntaxError) {
  const LoadResult result = parse(R"(
[server]
workers = 1
workers = 2
)");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_THAT(result.errors[0].message, HasSubstr("workers"));
}

// Found by fuzz_config_loader: toml++ quotes the character it did not expect as it is, so a
// value cut short by a line break ("t" for "true") put a newline into the message and split the
// one-line-per-error listing.
TEST(ConfigErrorsTest, SyntaxErrorMessagesStayOnOneLine) {
  const LoadResult result = parse("[server]\nworkers = 2\n[admin]\nenabled = t\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 4);
  EXPECT_THAT(result.errors[0].message, HasSubstr("'t\\x0a'"));
  const std::string listed = formatErrors(result.errors);
  EXPECT_EQ(listed.find('\n'), listed.size() - 1) << listed;
}

TEST(ConfigErrorsTest, UnknownTopLevelKey) {
  EXPECT_ONLY_ERROR(
      parseWithMinimal(R"(
[servr]
workers = 2
)"),
      kMinimalLines + 1, "servr",
      "unknown key; expected one of: server, admin, access_log, fleet, listeners, pools, routes");
}

TEST(ConfigErrorsTest, UnknownKeyInTable) {
  const LoadResult result = parseWithMinimal(R"(
[server]
wrokers = 2
)");
  EXPECT_ONLY_ERROR(result, kMinimalLines + 2, "server.wrokers",
                    "unknown key; expected one of: workers, shutdown_timeout, state_file");
  EXPECT_EQ(result.errors[0].column, 1);
}

TEST(ConfigErrorsTest, UnknownKeyInArrayOfTables) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
timeout = "5s"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    3, "listeners[0].timeout", "unknown key");
}

TEST(ConfigErrorsTest, UnknownKeyInBackendInlineTable) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081", { address = "127.0.0.1:8082", wieght = 2 }]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_ONLY_ERROR(result, 5, "pools[0].backends[1].wieght",
                    "unknown key; expected one of: address, weight");
  EXPECT_EQ(result.errors[0].column, 61);
}

TEST(ConfigErrorsTest, QuotedUnknownKeyIsShownQuoted) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[server]
"work ers" = 2
)"),
                    kMinimalLines + 2, "server.\"work ers\"", "unknown key");
}

TEST(ConfigErrorsTest, IntegerGivenAsString) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[server]
workers = "4"
)"),
                    kMinimalLines + 2, "server.workers",
                    "expected an integer between 0 and 256, got string \"4\"");
}

TEST(ConfigErrorsTest, IntegerGivenAsFloat) {
  const LoadResult result = parseWithMinimal(R"(
[server]
workers = 4.0
)");
  EXPECT_ONLY_ERROR(result, kMinimalLines + 2, "server.workers",
                    "expected an integer between 0 and 256, got float 4.0");
  EXPECT_EQ(result.errors[0].column, 11);
}

TEST(ConfigErrorsTest, DurationGivenAsInteger) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[server]
shutdown_timeout = 5
)"),
                    kMinimalLines + 2, "server.shutdown_timeout",
                    "expected a duration such as \"5s\" or \"250ms\", got integer 5");
}

TEST(ConfigErrorsTest, BadDurationText) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
header_timeout = "5 seconds"
keepalive_timeout = "5"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(IsError(3, "listeners[0].header_timeout",
                          "expected a duration such as \"5s\" or \"250ms\", got \"5 seconds\""),
                  IsError(4, "listeners[0].keepalive_timeout",
                          "expected a duration such as \"5s\" or \"250ms\", got \"5\"")));
}

TEST(ConfigErrorsTest, DurationOutOfRange) {
  const LoadResult result = parse(R"(
[server]
shutdown_timeout = "2h"
[[listeners]]
listen = "127.0.0.1:8080"
client_timeout = "25h"
[[pools]]
name = "blue"
connect_timeout = "0s"
idle_timeout = "-1s"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(2, "server.shutdown_timeout",
                                  "expected a duration between 0s and 1h, got \"2h\""),
                          IsError(5, "listeners[0].client_timeout",
                                  "expected a duration between 1ms and 24h, got \"25h\""),
                          IsError(8, "pools[0].connect_timeout",
                                  "expected a duration between 1ms and 1h, got \"0s\""),
                          IsError(9, "pools[0].idle_timeout",
                                  "expected a duration between 1ms and 24h, got \"-1s\"")));
}

TEST(ConfigErrorsTest, IntegerOutOfRange) {
  const LoadResult result = parse(R"(
[server]
workers = 300
[[listeners]]
listen = "127.0.0.1:8080"
max_headers = 0
max_url_bytes = 2000000
[[pools]]
name = "blue"
keepalive_max_idle = -1
backends = [{ address = "127.0.0.1:8081", weight = 0 }]
[[routes]]
name = "default"
pool = "blue"
retries = 11
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(
          IsError(2, "server.workers", "expected an integer between 0 and 256, got 300"),
          IsError(5, "listeners[0].max_headers", "expected an integer between 1 and 1000, got 0"),
          IsError(6, "listeners[0].max_url_bytes",
                  "expected an integer between 256 and 1048576, got 2000000"),
          IsError(9, "pools[0].keepalive_max_idle",
                  "expected an integer between 0 and 10000, got -1"),
          IsError(10, "pools[0].backends[0].weight",
                  "expected an integer between 1 and 1000, got 0"),
          IsError(14, "routes[0].retries", "expected an integer between 0 and 10, got 11")));
}

TEST(ConfigErrorsTest, SectionOfTheWrongShape) {
  const LoadResult result = parse(R"(
server = 4
[listeners]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = "127.0.0.1:8081"
[[routes]]
name = "default"
pool = "blue"
hosts = "example.com"
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(IsError(1, "server", "expected a table, got integer 4"),
                  IsError(2, "listeners",
                          "expected an array of tables written as [[listeners]], got a table"),
                  IsError(6, "pools[0].backends",
                          "expected an array of backends, each \"host:port\" or { address = "
                          "\"host:port\", weight = N }, got string \"127.0.0.1:8081\""),
                  IsError(10, "routes[0].hosts",
                          "expected an array of strings, got string \"example.com\"")));
}

TEST(ConfigErrorsTest, BackendOfTheWrongType) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081", 8082]
[[routes]]
name = "default"
pool = "blue"
)"),
                    5, "pools[0].backends[1]",
                    "expected \"host:port\" or { address = \"host:port\", weight = N }, got "
                    "integer 8082");
}

TEST(ConfigErrorsTest, UnparsableAddresses) {
  const LoadResult result = parse(R"(
[admin]
listen = 9901
[[listeners]]
listen = "127.0.0.1"
[[listeners]]
listen = "::1:8080"
[[listeners]]
listen = "[::1:8080"
[[pools]]
name = "blue"
backends = ["not an ip"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(
          IsError(2, "admin.listen",
                  "expected an address \"host:port\" such as \"127.0.0.1:8080\", got integer 9901"),
          IsError(4, "listeners[0].listen", "\"127.0.0.1\" is not an address: expected host:port"),
          IsError(6, "listeners[1].listen", "put IPv6 addresses in brackets"),
          IsError(8, "listeners[2].listen", "expected [ipv6]:port"),
          IsError(11, "pools[0].backends[0]",
                  "\"not an ip\" is not an address: expected host:port")));
}

TEST(ConfigErrorsTest, BadPorts) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:http"
[[pools]]
name = "blue"
backends = [
  "127.0.0.1:8081",
  { address = "127.0.0.1:99999" },
  "127.0.0.1:0",
]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(IsError(2, "listeners[0].listen",
                          "\"127.0.0.1:http\" has an invalid port: expected 0-65535"),
                  IsError(7, "pools[0].backends[1].address",
                          "\"127.0.0.1:99999\" has an invalid port: expected 0-65535"),
                  IsError(8, "pools[0].backends[2]",
                          "\"127.0.0.1:0\" has port 0: expected a port between 1 and 65535")));
  EXPECT_EQ(result.errors[1].column, 15);
  EXPECT_EQ(result.errors[1].toString(),
            "test.toml:7:15: pools[0].backends[1].address: \"127.0.0.1:99999\" has an invalid "
            "port: expected 0-65535");
}

TEST(ConfigErrorsTest, DuplicateBackendAddressInOnePool) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = [
  "127.0.0.1:8081",
  "127.0.0.1:8082",
  { address = "127.0.0.1:8081", weight = 2 },
]
[[pools]]
name = "green"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_ONLY_ERROR(result, 8, "pools[0].backends[2].address",
                    "duplicate backend \"127.0.0.1:8081\": same address as \"127.0.0.1:8081\" "
                    "on line 6");
}

TEST(ConfigErrorsTest, DuplicateBackendIsFoundAfterNormalisation) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["[::1]:8081", "[0:0:0:0:0:0:0:1]:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    5, "pools[0].backends[1]", "duplicate backend \"[0:0:0:0:0:0:0:1]:8081\"");
}

TEST(ConfigErrorsTest, DuplicatePoolNamesNameBothLines) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "blue"
backends = ["127.0.0.1:8082"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_ONLY_ERROR(result, 7, "pools[1].name",
                    "duplicate pool name \"blue\": already used by pools[0].name on line 4");
}

TEST(ConfigErrorsTest, DuplicateRouteAndListenerNames) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[listeners]]
name = "listener0"
listen = "127.0.0.1:8081"
[[pools]]
name = "blue"
backends = ["127.0.0.1:9000"]
[[routes]]
name = "r"
pool = "blue"
[[routes]]
name = "r"
pool = "blue"
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(4, "listeners[1].name",
                                  "duplicate listener name \"listener0\": already used by "
                                  "listeners[0].name on line 1"),
                          IsError(13, "routes[1].name",
                                  "duplicate route name \"r\": already used by routes[0].name "
                                  "on line 10")));
}

TEST(ConfigErrorsTest, TwoListenersOnOneAddress) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    4, "listeners[1].listen",
                    "duplicate listen address \"127.0.0.1:8080\": already used by "
                    "listeners[0].listen on line 2");
}

TEST(ConfigErrorsTest, AdminOnAListenerAddress) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[admin]
listen = "127.0.0.1:8080"
)"),
                    kMinimalLines + 2, "admin.listen",
                    "\"127.0.0.1:8080\" is already the address of listeners[0].listen on line 2");
}

TEST(ConfigErrorsTest, ListenerOnTheDefaultAdminAddress) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:9901"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    2, "listeners[0].listen", "is the admin API's default address");
}

TEST(ConfigErrorsTest, RouteNamesAnUnknownPool) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "green"
backends = ["127.0.0.1:8082"]
[[routes]]
name = "default"
pool = "gren"
)");
  EXPECT_ONLY_ERROR(result, 11, "routes[0].pool", "unknown pool \"gren\" (defined: blue, green)");
  EXPECT_EQ(result.errors[0].toString(),
            "test.toml:11:8: routes[0].pool: unknown pool \"gren\" (defined: blue, green)");
}

TEST(ConfigErrorsTest, RejectedPoolNameDoesNotAlsoFailItsRoutes) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue pool"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue pool"
)"),
                    4, "pools[0].name",
                    "expected a name made of letters, digits, '_', '.' and '-', got \"blue pool\"");
}

TEST(ConfigErrorsTest, HashBalancerWithoutHashKey) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
balancer = "hash"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    3, "pools[0].hash_key", "required when balancer = \"hash\"");
}

TEST(ConfigErrorsTest, HashKeyWithRoundRobin) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
hash_key = "client_ip"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    5, "pools[0].hash_key",
                    "only used with balancer = \"hash\", but this pool's balancer is "
                    "\"round_robin\"");
}

TEST(ConfigErrorsTest, BadHashKeySyntax) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "a"
balancer = "hash"
hash_key = "ip"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "b"
balancer = "hash"
hash_key = "header:"
backends = ["127.0.0.1:8081"]
[[pools]]
name = "c"
balancer = "hash"
hash_key = "cookie:a b"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "a"
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(IsError(6, "pools[0].hash_key",
                          "expected \"header:NAME\", \"cookie:NAME\" or \"client_ip\", got \"ip\""),
                  IsError(11, "pools[1].hash_key", "expected a header name after \"header:\""),
                  IsError(16, "pools[2].hash_key", "expected a cookie name after \"cookie:\"")));
}

TEST(ConfigErrorsTest, UnknownBalancerIsReportedOnce) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
balancer = "random"
hash_key = "client_ip"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    5, "pools[0].balancer",
                    "expected one of \"round_robin\", \"least_request\", \"hash\", got \"random\"");
}

TEST(ConfigErrorsTest, PathSettingsOfTheWrongKind) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
path_normalization = "decode"
merge_slashes = "on"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(3, "listeners[0].path_normalization",
                                  "expected one of \"forward\", \"reject\", got \"decode\""),
                          IsError(4, "listeners[0].merge_slashes",
                                  "expected true or false, got string \"on\"")));
}

TEST(ConfigErrorsTest, NoListenersPoolsOrRoutes) {
  const LoadResult result = parse(R"(
[server]
workers = 1
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(1, "listeners", "at least one [[listeners]] table is required"),
                          IsError(1, "pools", "at least one [[pools]] table is required"),
                          IsError(1, "routes", "at least one [[routes]] table is required")));
}

TEST(ConfigErrorsTest, EmptyArraysOfTables) {
  const LoadResult result = parse(R"(
listeners = []
pools = []
routes = []
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(1, "listeners", "expected at least one [[listeners]] table"),
                          IsError(2, "pools", "expected at least one [[pools]] table"),
                          IsError(3, "routes", "expected at least one [[routes]] table")));
}

TEST(ConfigErrorsTest, MissingRequiredKeysPointAtTheirTable) {
  const LoadResult result = parse(R"(
[[listeners]]
name = "http"
[[pools]]
balancer = "round_robin"
[[pools]]
name = "green"
backends = []
[[routes]]
hosts = ["example.com"]
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(1, "listeners[0].listen", "required key is missing"),
                          IsError(3, "pools[0].name", "required key is missing"),
                          IsError(3, "pools[0].backends", "required key is missing"),
                          IsError(7, "pools[1].backends",
                                  "expected at least one backend, got an empty array"),
                          IsError(8, "routes[0].name", "required key is missing"),
                          IsError(8, "routes[0].pool", "required key is missing")));
}

TEST(ConfigErrorsTest, BackendTableWithoutAddress) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = [{ weight = 2 }]
[[routes]]
name = "default"
pool = "blue"
)"),
                    5, "pools[0].backends[0].address", "required key is missing");
}

TEST(ConfigErrorsTest, AdminOffLoopbackWithoutToken) {
  const LoadResult result = parseWithMinimal(R"(
[admin]
listen = "0.0.0.0:9901"
)");
  EXPECT_ONLY_ERROR(result, kMinimalLines + 2, "admin.listen",
                    "binding the admin API to a non-loopback address requires token, "
                    "token_env, tokens or tls.client_ca");
}

TEST(ConfigErrorsTest, AdminOnIpv6WildcardWithoutToken) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[admin]
listen = "[::]:9901"
token = ""
)"),
                    kMinimalLines + 2, "admin.listen",
                    "requires token, token_env, tokens or tls.client_ca");
}

TEST(ConfigErrorsTest, AdminTokenEnvMustBeAVariableName) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[admin]
token_env = "hunter2-secret"
)"),
                    kMinimalLines + 2, "admin.token_env",
                    "expected an environment variable name made of letters, digits and '_'");
}

TEST(ConfigErrorsTest, BadHostPatterns) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
hosts = ["ok.example.com", "", "example.com:8080", "*example.com", "a.*.com", "*.", "a b", 7]
)");
  EXPECT_THAT(
      result.errors,
      ElementsAre(IsError(9, "routes[0].hosts[1]", "expected a host such as \"example.com\""),
                  IsError(9, "routes[0].hosts[2]", "contains a port"),
                  IsError(9, "routes[0].hosts[3]", "has '*' in the wrong place"),
                  IsError(9, "routes[0].hosts[4]", "has '*' in the wrong place"),
                  IsError(9, "routes[0].hosts[5]", "has '*' in the wrong place"),
                  IsError(9, "routes[0].hosts[6]", "contains whitespace"),
                  IsError(9, "routes[0].hosts[7]", "expected a string, got integer 7")));
  // Each error points at its own element, left to right.
  for (size_t i = 1; i < result.errors.size(); ++i) {
    EXPECT_GT(result.errors[i].column, result.errors[i - 1].column);
  }
}

TEST(ConfigErrorsTest, PathPrefixWithoutSlash) {
  EXPECT_ONLY_ERROR(parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
path_prefix = "api/"
)"),
                    9, "routes[0].path_prefix",
                    "expected a path starting with \"/\", got \"api/\"");
}

TEST(ConfigErrorsTest, ElementOfArrayOfTablesThatIsNotATable) {
  EXPECT_ONLY_ERROR(parse(R"(
listeners = [{ listen = "127.0.0.1:8080" }, "127.0.0.1:8081"]
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)"),
                    1, "listeners[1]", "expected a table, got string \"127.0.0.1:8081\"");
}

TEST(ConfigErrorsTest, SeveralErrorsAreAllReportedInFileOrder) {
  const std::string path =
      std::string(SY_SOURCE_DIR) + "/tests/fixtures/config/several_errors.toml";
  const LoadResult result = loadConfigFile(path);
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> lines;
  for (const ConfigError& error : result.errors) {
    EXPECT_EQ(error.file, path);
    lines.push_back(absl::StrCat(error.line, " ", error.key));
  }
  EXPECT_THAT(lines,
              ElementsAre("3 server.workers", "6 listeners[0].listen", "10 pools[0].backends[1]",
                          "14 routes[0].pool", "15 routes[0].retries", "16 routes[0].colour"));
  EXPECT_THAT(formatErrors(result.errors),
              HasSubstr(path + ":10:31: pools[0].backends[1]: \"127.0.0.1:99999\" has an invalid "
                               "port: expected 0-65535\n"));
}

TEST(ConfigErrorsTest, AdminAllowedHostsAreHostNames) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[admin]
allowed_hosts = ["lb1.internal", "http://lb1.internal:9901"]
)"),
                    kMinimalLines + 2, "admin.allowed_hosts[1]",
                    "is not a host name (letters, digits, '-', '.'; no port, no scheme)");
  const LoadResult ok = parseWithMinimal(R"(
[admin]
allowed_hosts = ["LB1.internal", "*"]
)");
  ASSERT_TRUE(ok.ok()) << formatErrors(ok.errors);
  EXPECT_EQ(ok.config->admin.allowed_hosts, (std::vector<std::string>{"lb1.internal", "*"}));
}

TEST(ConfigErrorsTest, Http2LimitsOutOfRange) {
  const LoadResult result = parse(R"(
[[listeners]]
listen = "127.0.0.1:8080"
http2 = true
http2_max_concurrent_streams = 0
http2_max_header_list_size = 100
http2_hpack_table_size = 70000
http2_max_resets = 0
http2_reset_interval = "100ms"
http2_stall_timeout = "2h"
[[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)");
  EXPECT_THAT(result.errors,
              ElementsAre(IsError(4, "listeners[0].http2_max_concurrent_streams",
                                  "expected an integer between 1 and 10000, got 0"),
                          IsError(5, "listeners[0].http2_max_header_list_size",
                                  "expected an integer between 1024 and 1048576, got 100"),
                          IsError(6, "listeners[0].http2_hpack_table_size",
                                  "expected an integer between 0 and 65536, got 70000"),
                          IsError(7, "listeners[0].http2_max_resets",
                                  "expected an integer between 1 and 1000000, got 0"),
                          IsError(8, "listeners[0].http2_reset_interval",
                                  "expected a duration between 1s and 1h, got \"100ms\""),
                          IsError(9, "listeners[0].http2_stall_timeout",
                                  "expected a duration between 100ms and 1h, got \"2h\"")));
}

}  // namespace
}  // namespace sy::routing::config
