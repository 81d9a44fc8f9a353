// The table-driven reader on a toy schema: shows that a new sub-table, optional table or array
// of tables is a few lines, and that nesting carries keys and positions through.

#include "routing/config/table_schema.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

using ::testing::ElementsAre;

struct Probe {
  std::string path = "/healthz";
  absl::Duration interval = absl::Seconds(5);
};

struct Rule {
  std::string name;
  uint32_t weight = 1;
};

struct Route {
  std::optional<Probe> probe;
  Probe always;
  std::vector<Rule> rules;
};

const TableSchema<Probe>& probeSchema() {
  static const TableSchema<Probe> schema{
      .fields = {
          parsedField("path", &Probe::path, checkPathPrefix),
          durationField("interval", &Probe::interval, absl::Seconds(1), absl::Minutes(1)),
      }};
  return schema;
}

const TableSchema<Rule>& ruleSchema() {
  static const TableSchema<Rule> schema{.fields = {
                                            required(parsedField("name", &Rule::name, checkName)),
                                            integerField("weight", &Rule::weight, 0, 100),
                                        }};
  return schema;
}

const TableSchema<Route>& routeSchema() {
  static const TableSchema<Route> schema{
      .fields = {
          tableField("probe", &Route::probe, probeSchema),
          tableField("always", &Route::always, probeSchema),
          tableArrayField("rules", &Route::rules, ruleSchema, "[[route.rules]]"),
      }};
  return schema;
}

struct Read {
  Route route;
  std::vector<ConfigError> errors;
};

Read read(std::string_view text) {
  ErrorSink sink("toy.toml");
  Read out;
  const toml::table table = toml::parse(text, std::string_view("toy.toml"));
  readTable(table, "route", 0, routeSchema(), out.route, sink);
  out.errors = sink.takeSorted();
  return out;
}

TEST(TableSchemaTest, AbsentOptionalTableStaysUnset) {
  const Read result = read("");
  EXPECT_TRUE(result.errors.empty());
  EXPECT_FALSE(result.route.probe.has_value());
  EXPECT_EQ(result.route.always.path, "/healthz");
  EXPECT_TRUE(result.route.rules.empty());
}

TEST(TableSchemaTest, NestedTablesAndArraysAreRead) {
  const Read result = read(R"([probe]
interval = "10s"
[always]
path = "/ping"
[[rules]]
name = "a"
weight = 90
[[rules]]
name = "b"
)");
  ASSERT_TRUE(result.errors.empty());
  ASSERT_TRUE(result.route.probe.has_value());
  EXPECT_EQ(result.route.probe->path, "/healthz");  // default kept inside the optional table
  EXPECT_EQ(result.route.probe->interval, absl::Seconds(10));
  EXPECT_EQ(result.route.always.path, "/ping");
  ASSERT_EQ(result.route.rules.size(), 2u);
  EXPECT_EQ(result.route.rules[0].weight, 90u);
  EXPECT_EQ(result.route.rules[1].name, "b");
  EXPECT_EQ(result.route.rules[1].weight, 1u);
}

TEST(TableSchemaTest, NestedErrorsCarryTheFullKey) {
  const Read result = read(R"([probe]
interval = "2m"
colour = 1
[[rules]]
weight = 101
)");
  std::vector<std::string> shown;
  for (const ConfigError& error : result.errors) shown.push_back(error.toString());
  EXPECT_THAT(shown,
              ElementsAre("toy.toml:2:12: route.probe.interval: expected a duration between 1s "
                          "and 1m, got \"2m\"",
                          "toy.toml:3:1: route.probe.colour: unknown key; expected one of: path, "
                          "interval",
                          "toy.toml:4:1: route.rules[0].name: required key is missing",
                          "toy.toml:5:10: route.rules[0].weight: expected an integer between 0 "
                          "and 100, got 101"));
}

TEST(ErrorSinkTest, HasErrorAtMatchesKeyAndDescendantsOnly) {
  ErrorSink sink("f");
  sink.add({1, 1}, "pools[1].name", "x");
  EXPECT_TRUE(sink.hasErrorAt("pools[1].name"));
  EXPECT_TRUE(sink.hasErrorAt("pools[1]"));
  EXPECT_TRUE(sink.hasErrorAt("pools"));
  EXPECT_FALSE(sink.hasErrorAt("pools[1].names"));
  EXPECT_FALSE(sink.hasErrorAt("pools[1].nam"));
  EXPECT_FALSE(sink.hasErrorAt("pools[10]"));
  EXPECT_FALSE(sink.hasErrorAt("routes"));
}

TEST(ErrorSinkTest, SortsByPositionKeepingFoundOrderForTies) {
  ErrorSink sink("f");
  sink.add({5, 1}, "c", "");
  sink.add({2, 9}, "b", "");
  sink.add({2, 3}, "a1", "");
  sink.add({2, 3}, "a2", "");
  std::vector<std::string> keys;
  for (const ConfigError& error : sink.takeSorted()) keys.push_back(error.key);
  EXPECT_THAT(keys, ElementsAre("a1", "a2", "b", "c"));
}

}  // namespace
}  // namespace sy::routing::config
