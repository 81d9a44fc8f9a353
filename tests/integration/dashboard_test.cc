// conf/grafana-dashboard.json must stay usable: well-formed Grafana JSON whose schemaVersion
// matches the Grafana it requires, with the variables and panels a release and a rollout need,
// PromQL that promtool accepts, every query on the selected data source, and only metric names
// (and labels) that a running switchyard exposes on /metrics: the test drives a proxy through
// every event that makes a series appear (a rollout rolled back, a passive ejection, mirroring),
// so there is no list of exceptions. The PromQL examples of README.md get the same checks.

#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

// The dashboard schema version each Grafana release writes, for the Grafana version named in
// `__requires`: an older Grafana refuses or misreads a newer schema, a newer one migrates an
// older schema on load. Raise both together (and add the row here).
const std::map<std::string, int> kSchemaVersionOfGrafana = {
    {"9.0.0", 36},  // 9.0 moved data source names to {type, uid} references
};

// Rows whose panels pick pools by their role on a route (active, canary) rather than by name,
// so the $pool variable does not apply to them.
const std::set<std::string> kRowsWithoutPoolFilter = {"Switching state", "Rollouts"};

// Labels Prometheus adds at scrape time, which /metrics itself never has.
const std::set<std::string> kTargetLabels = {"instance", "job"};

nlohmann::json loadDashboard() {
  std::ifstream file(std::string(SY_SOURCE_DIR) + "/conf/grafana-dashboard.json");
  EXPECT_TRUE(file.good()) << "conf/grafana-dashboard.json is missing";
  std::stringstream text;
  text << file.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& error) {
    ADD_FAILURE() << "conf/grafana-dashboard.json is not valid JSON: " << error.what();
    return nlohmann::json();
  }
}

struct Query {
  std::string where;  // panel title, annotation or variable name, for messages
  std::string expr;   // with Grafana variables, as in the file
  std::string row;    // for a panel's target: the title of the row above it
};

// Every PromQL expression of the dashboard: panel targets, annotations, and the series selector
// inside each variable's label_values(SELECTOR, LABEL).
std::vector<Query> queriesOf(const nlohmann::json& dashboard) {
  std::vector<Query> queries;
  std::string row;
  for (const auto& panel : dashboard.value("panels", nlohmann::json::array())) {
    if (panel.value("type", "") == "row") row = panel.value("title", "");
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      queries.push_back({panel.value("title", "?"), target.value("expr", ""), row});
    }
  }
  for (const auto& annotation : dashboard["annotations"].value("list", nlohmann::json::array())) {
    if (annotation.contains("expr")) {
      queries.push_back({"annotation " + annotation.value("name", "?"), annotation["expr"], ""});
    }
  }
  static const std::regex kLabelValues(R"(^label_values\((.*),\s*([a-zA-Z_]\w*)\)$)");
  for (const auto& variable : dashboard["templating"].value("list", nlohmann::json::array())) {
    if (variable.value("type", "") != "query") continue;
    const std::string query = variable["query"].is_object() ? variable["query"].value("query", "")
                                                            : variable["query"].get<std::string>();
    std::smatch match;
    if (std::regex_match(query, match, kLabelValues)) {
      queries.push_back({"variable " + variable.value("name", "?"), match[1].str(), ""});
    } else {
      ADD_FAILURE() << "variable " << variable.value("name", "?")
                    << ": expected label_values(SELECTOR, LABEL), got " << query;
    }
  }
  return queries;
}

// The PromQL examples of README.md: each ```promql block is one expression, after its comment
// lines.
std::vector<Query> readmeQueries() {
  std::ifstream file(std::string(SY_SOURCE_DIR) + "/README.md");
  EXPECT_TRUE(file.good()) << "README.md is missing";
  std::vector<Query> queries;
  std::string line;
  std::string expr;
  bool inside = false;
  while (std::getline(file, line)) {
    if (!inside && line == "```promql") {
      inside = true;
      expr.clear();
    } else if (inside && (line == "```" || line.rfind("#", 0) == 0)) {
      // A comment line starts the next query of the same block.
      if (!expr.empty()) {
        queries.push_back({absl::StrCat("README.md example ", queries.size() + 1), expr, ""});
      }
      expr.clear();
      inside = line != "```";
    } else if (inside) {
      expr += line + "\n";
    }
  }
  return queries;
}

// `expr` as Prometheus sees it once Grafana replaced its variables (every variable "All").
std::string substituted(const std::string& expr) {
  return absl::StrReplaceAll(expr, {{"$__rate_interval", "1m"},
                                    {"$__interval", "1m"},
                                    {"$__range", "1h"},
                                    {"$instance", ".*"},
                                    {"$route", ".*"},
                                    {"$pool", ".*"}});
}

std::set<std::string> metricNamesIn(const std::string& expr) {
  static const std::regex kName(R"(switchyard_[a-z0-9_]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

TEST(DashboardTest, IsWellFormedGrafanaJsonWithTheVariablesAndPanelsOfARelease) {
  const nlohmann::json dashboard = loadDashboard();
  ASSERT_TRUE(dashboard.is_object());
  EXPECT_FALSE(dashboard.value("title", "").empty());
  EXPECT_FALSE(dashboard.value("uid", "").empty());

  // schemaVersion is the one the required Grafana writes; __requires lists the Prometheus data
  // source and exactly the panel types the dashboard uses.
  std::string grafana_version;
  std::set<std::string> required_panels;
  bool requires_prometheus = false;
  for (const auto& required : dashboard.value("__requires", nlohmann::json::array())) {
    const std::string type = required.value("type", "");
    if (type == "grafana") grafana_version = required.value("version", "");
    if (type == "panel") required_panels.insert(required.value("id", ""));
    if (type == "datasource") requires_prometheus |= required.value("id", "") == "prometheus";
  }
  EXPECT_TRUE(requires_prometheus);
  ASSERT_TRUE(kSchemaVersionOfGrafana.contains(grafana_version))
      << "__requires names Grafana \"" << grafana_version
      << "\": add its schema version to kSchemaVersionOfGrafana";
  EXPECT_EQ(dashboard.value("schemaVersion", 0), kSchemaVersionOfGrafana.at(grafana_version))
      << "schemaVersion and the Grafana version of __requires disagree";
  std::set<std::string> used_panels;
  for (const auto& panel : dashboard["panels"]) {
    if (panel.value("type", "") != "row") used_panels.insert(panel.value("type", ""));
  }
  EXPECT_EQ(required_panels, used_panels) << "__requires must list the panel types in use";

  // Annotations other than Grafana's built-in one query the selected data source too.
  for (const auto& annotation : dashboard["annotations"]["list"]) {
    if (annotation.value("builtIn", 0) == 1) continue;
    EXPECT_EQ(annotation["datasource"]["uid"], "${datasource}") << annotation.value("name", "");
  }

  // Variables: a Prometheus data source, and route (and the others) queried from it.
  std::map<std::string, nlohmann::json> variables;
  for (const auto& v : dashboard["templating"]["list"]) variables[v.value("name", "")] = v;
  ASSERT_TRUE(variables.contains("datasource"));
  EXPECT_EQ(variables["datasource"]["type"], "datasource");
  EXPECT_EQ(variables["datasource"]["query"], "prometheus");
  ASSERT_TRUE(variables.contains("route"));
  EXPECT_EQ(variables["route"]["type"], "query");
  EXPECT_EQ(variables["route"]["datasource"]["uid"], "${datasource}");
  EXPECT_NE(variables["route"]["query"].dump().find(", route)"), std::string::npos);
  ASSERT_TRUE(variables.contains("pool"));
  for (const auto& [name, variable] : variables) {
    if (variable.value("type", "") != "query") continue;
    EXPECT_EQ(variable["datasource"]["uid"], "${datasource}") << "variable " << name;
  }

  // Panels: unique ids, inside the 24-column grid, not overlapping; every query panel says what
  // it shows and reads the selected data source.
  std::set<int> ids;
  std::vector<nlohmann::json> boxes;
  std::string all_queries;
  for (const auto& panel : dashboard["panels"]) {
    const std::string title = panel.value("title", "");
    SCOPED_TRACE(title);
    EXPECT_FALSE(title.empty());
    EXPECT_TRUE(ids.insert(panel.value("id", -1)).second) << "duplicate panel id";
    const nlohmann::json& grid = panel["gridPos"];
    ASSERT_TRUE(grid.is_object());
    const int x = grid.value("x", -1);
    const int y = grid.value("y", -1);
    const int w = grid.value("w", 0);
    const int h = grid.value("h", 0);
    EXPECT_GE(x, 0);
    EXPECT_GE(y, 0);
    EXPECT_GT(w, 0);
    EXPECT_GT(h, 0);
    EXPECT_LE(x + w, 24);
    for (const auto& other : boxes) {
      const bool apart =
          x + w <= other["x"].get<int>() || other["x"].get<int>() + other["w"].get<int>() <= x ||
          y + h <= other["y"].get<int>() || other["y"].get<int>() + other["h"].get<int>() <= y;
      EXPECT_TRUE(apart) << "overlaps the panel at " << other.dump();
    }
    boxes.push_back(grid);
    if (panel.value("type", "") == "row") continue;
    EXPECT_FALSE(panel.value("description", "").empty());
    EXPECT_EQ(panel["datasource"]["uid"], "${datasource}");
    ASSERT_TRUE(panel["targets"].is_array());
    ASSERT_FALSE(panel["targets"].empty());
    std::set<std::string> refs;
    for (const auto& target : panel["targets"]) {
      EXPECT_FALSE(target.value("expr", "").empty());
      EXPECT_TRUE(refs.insert(target.value("refId", "")).second) << "duplicate refId";
      EXPECT_EQ(target["datasource"]["uid"], "${datasource}");
      all_queries += target.value("expr", "") + "\n";
    }
  }

  // What a release is watched with.
  for (const char* wanted : {
           "sum by (pool) (rate(switchyard_requests_total",  // requests/s per pool
           "class=\"5xx\"",                                  // error rate
           "histogram_quantile(0.5, sum by (pool, le) "
           "(rate(switchyard_request_duration_seconds_bucket",
           "histogram_quantile(0.99, sum by (pool, le) "
           "(rate(switchyard_request_duration_seconds_bucket",
           "switchyard_route_active_pool",
           "switchyard_route_canary_weight_percent",
           "switchyard_backend_health",
           "switchyard_backend_admin_state",
           "switchyard_mirror_duration_seconds_bucket",
           "route=~\"$route\"",
           // Passive ejections, and what README.md says to watch on a shadow.
           "switchyard_passive_ejections_total",
           "switchyard_mirror_requests_total{instance=~\"$instance\",route=~\"$route\","
           "pool=~\"$pool\",result=\"dropped\"}",
           "result=\"failed\"",
           "switchyard_mirror_responses_total{instance=~\"$instance\",route=~\"$route\","
           "pool=~\"$pool\",class=\"5xx\"}",
           // The rollout row: weight and state over time, verdicts, canary against baseline.
           "switchyard_rollout_weight",
           "switchyard_rollout_state",
           "switchyard_rollout_analysis_total",
           "and on (route, pool) (max by (route, pool) "
           "(switchyard_route_canary_weight_percent{instance=~\"$instance\",route=~\"$route\"}) > "
           "0)",
           "and on (route, pool) (max by (route, pool) "
           "(switchyard_route_active_pool{instance=~\"$instance\",route=~\"$route\"}) == 1)",
       }) {
    EXPECT_NE(all_queries.find(wanted), std::string::npos) << "no query has: " << wanted;
  }
  // The mirror panel says why it may be empty.
  bool mirror_described = false;
  for (const auto& panel : dashboard["panels"]) {
    if (panel.dump().find("switchyard_mirror_duration_seconds_bucket") != std::string::npos) {
      mirror_described =
          panel.value("description", "").find("once mirroring is configured") != std::string::npos;
    }
  }
  EXPECT_TRUE(mirror_described) << "the mirror latency panel must say it shows data once "
                                   "mirroring is configured";

  // The rollout row: rollbacks are annotated, and the canary-against-baseline figures are stat
  // panels whose thresholds turn red.
  bool rollback_annotation = false;
  for (const auto& annotation : dashboard["annotations"]["list"]) {
    rollback_annotation |=
        annotation.value("expr", "").find("increase(switchyard_rollout_rollbacks_total") !=
        std::string::npos;
  }
  EXPECT_TRUE(rollback_annotation) << "no annotation marks rollout rollbacks";
  int comparison_stats = 0;
  for (const auto& panel : dashboard["panels"]) {
    const std::string text = panel.dump();
    if (panel.value("type", "") != "stat" ||
        text.find("switchyard_route_canary_weight_percent") == std::string::npos) {
      continue;
    }
    ++comparison_stats;
    const nlohmann::json& steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"];
    ASSERT_GE(steps.size(), 2u) << panel.value("title", "");
    EXPECT_EQ(steps.back()["color"], "red") << panel.value("title", "");
  }
  EXPECT_EQ(comparison_stats, 2) << "error rate difference and p99 ratio, canary vs baseline";
}

TEST(DashboardTest, EveryQueryAndReadmeExampleIsValidPromQl) {
  const nlohmann::json dashboard = loadDashboard();
  ASSERT_TRUE(dashboard.is_object());
  std::vector<Query> queries = queriesOf(dashboard);
  ASSERT_GE(queries.size(), 20u);
  const std::vector<Query> readme = readmeQueries();
  EXPECT_GE(readme.size(), 4u) << "README.md has the example queries in ```promql blocks";
  queries.insert(queries.end(), readme.begin(), readme.end());
  // promtool checks PromQL offline as the expressions of recording rules; a JSON string is a
  // valid YAML double-quoted scalar.
  std::string rules = "groups:\n  - name: grafana-dashboard\n    rules:\n";
  for (size_t i = 0; i < queries.size(); ++i) {
    absl::StrAppend(&rules, "      - record: dashboard:query_", i,
                    "\n        expr: ", nlohmann::json(substituted(queries[i].expr)).dump(), "\n");
  }
  const absl::Status checked = runPromtool({"check", "rules", "{file}"}, rules);
  EXPECT_TRUE(checked.ok()) << checked << "\nrules:\n" << rules;
}

class DashboardMetricsTest : public ProxyTest {};

TEST_F(DashboardMetricsTest, EveryMetricAndLabelQueriedIsExposed) {
  // A proxy where every family has samples: traffic on two pools mirrored to a third, a
  // switch, a canary change, a promotion, a rollback, a reload, then a rollout that a failing
  // canary rolls back while outlier detection ejects a backend.
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startBackend("shadow"));
  // A pool of one backend is only ejected at max_ejection_percent = 100.
  const std::string ejectable =
      "[pools.outlier_detection]\nconsecutive_failures = 3\nmax_ejection_percent = 100\n\n";
  const std::string config = absl::StrCat(
      "[server]\nworkers = 1\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:", backendPort(0), "\"]\n", ejectable,
      "[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", backendPort(1), "\"]\n", ejectable,
      "[[pools]]\nname = \"shadow\"\nbackends = [\"127.0.0.1:", backendPort(2), "\"]\n\n",
      "[[routes]]\nname = \"web\"\npool = \"blue\"\n",
      "mirror = { pool = \"shadow\", percent = 100 }\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  auto post = [&](const std::string& target) {
    HttpClient client;
    ASSERT_TRUE(client.connect(*admin_port));
    std::optional<Response> response = client.request("POST", target);
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->status, 200) << target << ": " << response->body;
  };
  auto send = [&] {
    for (const char* path : {"/", "/status/503"}) {
      std::optional<Response> response = httpGet(port(), path);
      ASSERT_TRUE(response.has_value());
    }
  };
  ASSERT_NO_FATAL_FAILURE(send());
  ASSERT_NO_FATAL_FAILURE(post("/admin/switch?to=green"));
  ASSERT_NO_FATAL_FAILURE(send());
  ASSERT_NO_FATAL_FAILURE(post("/admin/canary?pool=blue&weight=50"));
  ASSERT_NO_FATAL_FAILURE(post("/admin/promote"));
  ASSERT_NO_FATAL_FAILURE(post("/admin/rollback"));
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(config);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();

  // A rollout of the other pool whose every request fails: one failed window rolls it back.
  AdminResult status = adminCall(*admin_port, "GET", "/admin/status");
  ASSERT_EQ(status.status, 200) << status.text();
  const std::string canary = status.body["routes"][0]["active"] == "blue" ? "green" : "blue";
  const nlohmann::json rollout = {{"route", "web"},
                                  {"pool", canary},
                                  {"steps", {{{"weight", 50}, {"hold", "1m"}}}},
                                  {"analysis",
                                   {{"interval", "200ms"},
                                    {"min_requests", 3},
                                    {"max_error_rate", 0.01},
                                    {"failure_limit", 1}}}};
  AdminResult started = adminCall(*admin_port, "POST", "/admin/rollouts",
                                  {{"Content-Type", "application/json"}}, rollout.dump());
  ASSERT_EQ(started.status, 201) << started.text();
  const bool rolled_back = waitUntil(
      [&] {
        std::optional<Response> response = httpGet(port(), "/status/503");
        AdminResult state = adminCall(*admin_port, "GET", "/admin/rollouts/web");
        return response.has_value() && state.status == 200 && state.body["state"] == "rolled_back";
      },
      seconds(30));
  ASSERT_TRUE(rolled_back) << adminCall(*admin_port, "GET", "/admin/rollouts/web").text();
  ASSERT_TRUE(waitForLogEvent(*proxy_.process, "backend_ejected", seconds(10)).has_value())
      << "3 failures in a row on one worker eject a backend";

  std::string raw;
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port, &raw);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  // Sample name -> label names, over every sample with that name.
  std::map<std::string, std::set<std::string>> exposed;
  for (const auto& [family, type] : metrics->types()) {
    if (type == "histogram") {
      exposed[family + "_bucket"].insert("le");
      exposed[family + "_count"];
      exposed[family + "_sum"];
    } else {
      exposed[family];
    }
  }
  for (const Sample& sample : metrics->samples()) {
    for (const auto& [label, value] : sample.labels) exposed[sample.name].insert(label);
  }

  const nlohmann::json dashboard = loadDashboard();
  ASSERT_TRUE(dashboard.is_object());
  static const std::regex kSelector(R"((switchyard_[a-z0-9_]+)\{([^}]*)\})");
  static const std::regex kMatcher(R"(([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*")");
  static const std::regex kBy(R"(\b(?:by|without)\s*\(([^)]*)\))");
  std::vector<Query> queries = queriesOf(dashboard);
  const std::vector<Query> readme = readmeQueries();
  queries.insert(queries.end(), readme.begin(), readme.end());
  for (const Query& query : queries) {
    SCOPED_TRACE(query.where + ": " + query.expr);
    const std::string& expr = query.expr;
    std::set<std::string> labels_in_expr = kTargetLabels;
    labels_in_expr.insert("le");
    for (const std::string& name : metricNamesIn(expr)) {
      auto it = exposed.find(name);
      EXPECT_NE(it, exposed.end()) << name << " is not on /metrics";
      if (it != exposed.end()) labels_in_expr.insert(it->second.begin(), it->second.end());
    }
    // Each selector's label matchers name labels of that metric.
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kSelector);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      const std::string matchers = (*it)[2].str();
      if (!exposed.contains(name)) continue;
      // A panel showing pools by name follows the $pool variable, as the route does $route.
      if (!query.row.empty() && !kRowsWithoutPoolFilter.contains(query.row) &&
          exposed[name].contains("pool")) {
        EXPECT_NE(matchers.find("pool=~\"$pool\""), std::string::npos)
            << name << " in row " << query.row << " ignores $pool";
      }
      for (auto m = std::sregex_iterator(matchers.begin(), matchers.end(), kMatcher);
           m != std::sregex_iterator(); ++m) {
        const std::string label = (*m)[1].str();
        EXPECT_TRUE(exposed[name].contains(label) || kTargetLabels.contains(label))
            << name << " has no label " << label;
      }
    }
    // Grouping labels exist on the metrics the expression reads.
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kBy);
         it != std::sregex_iterator(); ++it) {
      std::stringstream list((*it)[1].str());
      for (std::string label; std::getline(list, label, ',');) {
        label.erase(0, label.find_first_not_of(' '));
        label.erase(label.find_last_not_of(' ') + 1);
        if (label.empty()) continue;
        EXPECT_TRUE(labels_in_expr.contains(label)) << "grouping by unknown label " << label;
      }
    }
  }
}

}  // namespace
}  // namespace sy::testing
