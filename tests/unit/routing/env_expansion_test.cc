// "${NAME}" in configuration string values: expansion rules, and what the loader reports when a
// variable is unset.

#include "routing/config/env_expansion.h"

#include <map>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using ::testing::HasSubstr;

EnvLookup fakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string expandOrError(std::string_view text, const EnvLookup& lookup) {
  absl::StatusOr<std::string> out = expandEnvReferences(text, lookup);
  return out.ok() ? *out : "error: " + std::string(out.status().message());
}

TEST(EnvExpansionTest, ReplacesReferencesAnywhereInTheValue) {
  const EnvLookup env = fakeEnv({{"HOST", "10.0.0.7"}, {"PORT", "8081"}, {"EMPTY", ""}});
  EXPECT_EQ(expandOrError("${HOST}:${PORT}", env), "10.0.0.7:8081");
  EXPECT_EQ(expandOrError("http://${HOST}/x", env), "http://10.0.0.7/x");
  EXPECT_EQ(expandOrError("a${EMPTY}b", env), "ab");
  EXPECT_EQ(expandOrError("no references", env), "no references");
}

TEST(EnvExpansionTest, DollarDollarIsALiteralDollarAndALoneDollarStays) {
  const EnvLookup env = fakeEnv({{"X", "expanded"}});
  EXPECT_EQ(expandOrError("$${X}", env), "${X}");
  EXPECT_EQ(expandOrError("a$$b", env), "a$b");
  EXPECT_EQ(expandOrError("^/v1$", env), "^/v1$");
  EXPECT_EQ(expandOrError("$X", env), "$X");
  // A value is expanded once: a variable whose value holds "${...}" is taken as it is.
  EXPECT_EQ(expandOrError("${Y}", fakeEnv({{"Y", "${X}"}})), "${X}");
}

TEST(EnvExpansionTest, UnsetAndMalformedReferencesAreErrorsNamingThem) {
  const EnvLookup env = fakeEnv({});
  EXPECT_EQ(expandOrError("${MISSING}", env),
            "error: environment variable MISSING (referenced as ${MISSING}) is not set");
  EXPECT_THAT(expandOrError("${OPEN", env), HasSubstr("without a closing"));
  EXPECT_THAT(expandOrError("${}", env), HasSubstr("is not a variable reference"));
  EXPECT_THAT(expandOrError("${1X}", env), HasSubstr("is not a variable reference"));
  EXPECT_THAT(expandOrError("${A-B}", env), HasSubstr("is not a variable reference"));
}

TEST(EnvExpansionTest, LoaderExpandsStringValuesAtEveryDepth) {
  const std::string text = R"([[listeners]]
listen = "${LISTEN}"
[[pools]]
name = "app"
backends = ["${UPSTREAM}", { address = "127.0.0.1:${PORT_B}", weight = 2 }]
[[routes]]
name = "default"
path_prefix = "${PREFIX}"
pool = "app"
)";
  const LoadResult result = parseConfigText(text, "test.toml",
                                            fakeEnv({{"LISTEN", "127.0.0.1:0"},
                                                     {"UPSTREAM", "127.0.0.1:9001"},
                                                     {"PORT_B", "9002"},
                                                     {"PREFIX", "/api"}}));
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->listeners[0].listen_text, "127.0.0.1:0");
  ASSERT_EQ(result.config->pools[0].backends.size(), 2u);
  EXPECT_EQ(result.config->pools[0].backends[0].address_text, "127.0.0.1:9001");
  EXPECT_EQ(result.config->pools[0].backends[1].address_text, "127.0.0.1:9002");
  EXPECT_EQ(result.config->routes[0].path_prefix, "/api");
}

TEST(EnvExpansionTest, UnsetVariableIsOneErrorAtItsKeyWithItsPosition) {
  const std::string text = R"([[listeners]]
listen = "127.0.0.1:0"
[[pools]]
name = "app"
backends = ["127.0.0.1:9001", "${BACKEND_B}"]
[[routes]]
name = "default"
pool = "app"
)";
  const LoadResult result = parseConfigText(text, "test.toml", fakeEnv({}));
  // Only the cause: "${BACKEND_B}" is not also reported as a bad address.
  EXPECT_ONLY_ERROR(result, 5, "pools[0].backends[1]",
                    "environment variable BACKEND_B (referenced as ${BACKEND_B}) is not set");
}

TEST(EnvExpansionTest, KeysCommentsAndOtherTypesAreNeverExpanded) {
  const std::string text = R"(# ${NOT_A_VALUE} in a comment
[server]
workers = 2
[[listeners]]
listen = "127.0.0.1:0"
[[pools]]
name = "app"
backends = ["127.0.0.1:9001"]
[[routes]]
name = "default"
pool = "app"
)";
  const LoadResult result = parseConfigText(text, "test.toml", fakeEnv({}));
  ASSERT_TRUE(result.ok()) << formatErrors(result.errors);
  EXPECT_EQ(result.config->server.workers, 2u);
}

}  // namespace
}  // namespace sy::routing::config
