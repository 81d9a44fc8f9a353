// TrafficState: the admin operations, the reload rule (which runtime changes survive a new
// configuration) and the state file.

#include "routing/traffic_state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace sy::routing {

// Readable failures for RouteTraffic comparisons (found by ADL, hence outside the anonymous
// namespace; static keeps it private to this file).
static void PrintTo(const RouteTraffic& t, std::ostream* out) {
  *out << "{active=" << t.active << " previous=" << t.previous << " canary=" << t.canary_pool << "@"
       << t.canary_weight << " base=" << t.base_pool << "/" << t.base_canary_pool << "@"
       << t.base_canary_weight << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct RouteSpec {
  RouteSpec(std::string name_in, std::string pool_in, std::string canary_pool_in = "",
            double canary_weight_in = 0)
      : name(std::move(name_in)),
        pool(std::move(pool_in)),
        canary_pool(std::move(canary_pool_in)),
        canary_weight(canary_weight_in) {}

  std::string name;
  std::string pool;
  std::string canary_pool;  // empty: no canary table
  double canary_weight;
};

// Only pool names and the routes' pool/canary matter to TrafficState.
config::Config makeConfig(const std::vector<std::string>& pools,
                          const std::vector<RouteSpec>& routes) {
  config::Config config;
  for (const std::string& name : pools) {
    config::PoolConfig pool;
    pool.name = name;
    config.pools.push_back(pool);
  }
  for (const RouteSpec& spec : routes) {
    config::RouteConfig route;
    route.name = spec.name;
    route.pool = spec.pool;
    if (!spec.canary_pool.empty()) {
      route.canary = config::CanaryConfig{spec.canary_pool, spec.canary_weight};
    }
    config.routes.push_back(route);
  }
  return config;
}

std::vector<std::string> filesIn(const std::string& directory) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class TrafficStateTest : public ::testing::Test {
 protected:
  // blue/green/gray pools; "web" on blue, "api" on blue with a 10% green canary.
  TrafficStateTest()
      : config_(makeConfig({"blue", "green", "gray"},
                           {{"web", "blue"}, {"api", "blue", "green", 10}})) {
    EXPECT_THAT(state_.reconcile(config_), IsEmpty());
  }

  const RouteTraffic& route(const std::string& name) const {
    const RouteTraffic* traffic = state_.find(name);
    EXPECT_NE(traffic, nullptr) << name;
    static const RouteTraffic kMissing;
    return traffic != nullptr ? *traffic : kMissing;
  }

  config::Config config_;
  TrafficState state_;
};

// --- reconcile from a file ---

TEST_F(TrafficStateTest, ReconcileStartsEveryRouteFromTheFile) {
  EXPECT_EQ(state_.routes().size(), 2u);
  const RouteTraffic& web = route("web");
  EXPECT_EQ(web.active, "blue");
  EXPECT_EQ(web.previous, "");
  EXPECT_EQ(web.canary_pool, "");
  EXPECT_EQ(web.canary_weight, 0);
  EXPECT_EQ(web.base_pool, "blue");
  EXPECT_EQ(web.base_canary_pool, "");

  const RouteTraffic& api = route("api");
  EXPECT_EQ(api.active, "blue");
  EXPECT_EQ(api.canary_pool, "green");
  EXPECT_EQ(api.canary_weight, 10);
  EXPECT_EQ(api.base_pool, "blue");
  EXPECT_EQ(api.base_canary_pool, "green");
  EXPECT_EQ(api.base_canary_weight, 10);
  EXPECT_EQ(state_.find("nope"), nullptr);
}

TEST(TrafficStateFileTest, CanaryWithWeightZeroInTheFileIsNoCanary) {
  TrafficState state;
  state.reconcile(makeConfig({"blue", "green"}, {{"web", "blue", "green", 0}}));
  ASSERT_NE(state.find("web"), nullptr);
  EXPECT_EQ(state.find("web")->canary_pool, "");
  EXPECT_EQ(state.find("web")->canary_weight, 0);
}

// --- switchTo ---

TEST_F(TrafficStateTest, SwitchRemembersThePreviousPool) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  EXPECT_EQ(route("web").active, "green");
  EXPECT_EQ(route("web").previous, "blue");
  // Other routes are untouched.
  EXPECT_EQ(route("api").active, "blue");
}

TEST_F(TrafficStateTest, SwitchToTheActivePoolIsANoOpThatKeepsPrevious) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  const RouteTraffic before = route("web");
  EXPECT_TRUE(state_.switchTo("web", "green", config_).ok());
  EXPECT_EQ(route("web"), before);
  EXPECT_EQ(route("web").previous, "blue");  // not "green": a rollback must still go back
}

TEST_F(TrafficStateTest, SwitchToTheCanaryPoolEndsTheCanary) {
  ASSERT_TRUE(state_.switchTo("api", "green", config_).ok());
  EXPECT_EQ(route("api").active, "green");
  EXPECT_EQ(route("api").previous, "blue");
  EXPECT_EQ(route("api").canary_pool, "");
  EXPECT_EQ(route("api").canary_weight, 0);
}

TEST_F(TrafficStateTest, SwitchToAnotherPoolKeepsTheCanary) {
  ASSERT_TRUE(state_.switchTo("api", "gray", config_).ok());
  EXPECT_EQ(route("api").active, "gray");
  EXPECT_EQ(route("api").canary_pool, "green");
  EXPECT_EQ(route("api").canary_weight, 10);
}

TEST_F(TrafficStateTest, SwitchWithUnknownRouteOrPoolIsNotFoundAndChangesNothing) {
  const auto before = state_.routes();
  absl::Status status = state_.switchTo("nope", "green", config_);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("nope"));
  status = state_.switchTo("web", "purple", config_);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("purple"));
  EXPECT_EQ(state_.routes(), before);
}

// --- rollback ---

TEST_F(TrafficStateTest, RollbackSwapsActiveAndPrevious) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.rollback("web").ok());
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_EQ(route("web").previous, "green");
}

TEST_F(TrafficStateTest, RollbackTwiceReturnsToTheSwitchedPool) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.rollback("web").ok());
  ASSERT_TRUE(state_.rollback("web").ok());
  EXPECT_EQ(route("web").active, "green");
  EXPECT_EQ(route("web").previous, "blue");
}

TEST_F(TrafficStateTest, RollbackWithNothingToRollBackIsFailedPrecondition) {
  const absl::Status status = state_.rollback("web");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_EQ(state_.rollback("nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(TrafficStateTest, RollbackOntoTheCanaryPoolEndsTheCanary) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.setCanary("web", "blue", 20, config_).ok());
  ASSERT_TRUE(state_.rollback("web").ok());
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_EQ(route("web").canary_pool, "");  // a canary on the active pool is meaningless
  EXPECT_EQ(route("web").canary_weight, 0);
}

// --- setCanary ---

TEST_F(TrafficStateTest, SetCanaryAcceptsDecimals) {
  ASSERT_TRUE(state_.setCanary("web", "green", 0.5, config_).ok());
  EXPECT_EQ(route("web").canary_pool, "green");
  EXPECT_EQ(route("web").canary_weight, 0.5);
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_TRUE(state_.setCanary("web", "gray", 100, config_).ok());
  EXPECT_EQ(route("web").canary_pool, "gray");
  EXPECT_EQ(route("web").canary_weight, 100);
}

TEST_F(TrafficStateTest, SetCanaryWeightZeroEndsItEvenWithoutAPool) {
  ASSERT_TRUE(state_.setCanary("api", "", 0, config_).ok());
  EXPECT_EQ(route("api").canary_pool, "");
  EXPECT_EQ(route("api").canary_weight, 0);
  // Even an unknown pool is fine: weight 0 names no pool.
  ASSERT_TRUE(state_.setCanary("web", "purple", 0, config_).ok());
  EXPECT_EQ(route("web").canary_pool, "");
}

TEST_F(TrafficStateTest, SetCanaryOnTheActivePoolIsFailedPrecondition) {
  const absl::Status status = state_.setCanary("api", "blue", 10, config_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(route("api").canary_pool, "green");  // unchanged
  EXPECT_EQ(route("api").canary_weight, 10);
}

TEST_F(TrafficStateTest, SetCanaryRejectsWeightsOutOfRange) {
  const auto before = state_.routes();
  for (const double weight :
       {-1.0, -0.001, 100.001, 101.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(state_.setCanary("web", "green", weight, config_).code(),
              absl::StatusCode::kInvalidArgument)
        << weight;
  }
  EXPECT_EQ(state_.routes(), before);
}

TEST_F(TrafficStateTest, SetCanaryWithUnknownRouteOrPoolIsNotFound) {
  EXPECT_EQ(state_.setCanary("nope", "green", 5, config_).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state_.setCanary("web", "purple", 5, config_).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(route("web").canary_pool, "");
}

// --- promote ---

TEST_F(TrafficStateTest, PromoteMakesTheCanaryActive) {
  ASSERT_TRUE(state_.promote("api").ok());
  EXPECT_EQ(route("api").active, "green");
  EXPECT_EQ(route("api").previous, "blue");
  EXPECT_EQ(route("api").canary_pool, "");
  EXPECT_EQ(route("api").canary_weight, 0);
  // A promotion can be rolled back like a switch.
  ASSERT_TRUE(state_.rollback("api").ok());
  EXPECT_EQ(route("api").active, "blue");
}

TEST_F(TrafficStateTest, PromoteWithoutCanaryIsFailedPrecondition) {
  EXPECT_EQ(state_.promote("web").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_EQ(route("web").previous, "");
  EXPECT_EQ(state_.promote("nope").code(), absl::StatusCode::kNotFound);
}

// --- the reload rule ---

TEST_F(TrafficStateTest, ReloadWithUnchangedRouteKeepsRuntimeState) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.setCanary("api", "gray", 30, config_).ok());
  const auto before = state_.routes();
  // A new Config object with the same contents, as a reload of an unchanged file produces.
  const config::Config reloaded =
      makeConfig({"blue", "green", "gray"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  EXPECT_THAT(state_.reconcile(reloaded), IsEmpty());
  EXPECT_EQ(state_.routes(), before);
}

TEST_F(TrafficStateTest, ReloadWithChangedPoolResetsTheRouteAndSaysSo) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.switchTo("api", "gray", config_).ok());
  const config::Config reloaded =
      makeConfig({"blue", "green", "gray"}, {{"web", "gray"}, {"api", "blue", "green", 10}});
  const std::vector<std::string> dropped = state_.reconcile(reloaded);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_THAT(dropped[0], HasSubstr("web"));
  EXPECT_THAT(dropped[0], HasSubstr("file changed"));
  EXPECT_EQ(route("web").active, "gray");
  EXPECT_EQ(route("web").previous, "");
  EXPECT_EQ(route("web").base_pool, "gray");
  EXPECT_EQ(route("api").active, "gray");  // its file values did not change
}

// REFERENCE.md (state_file): an edited `pool` makes the route start from the file again, logged
// as traffic_state_reset, whether or not the admin API had changed it.
TEST_F(TrafficStateTest, ReloadWithChangedPoolOfAnUntouchedRouteIsReportedToo) {
  const config::Config reloaded =
      makeConfig({"blue", "green", "gray"}, {{"web", "green"}, {"api", "blue", "green", 10}});
  EXPECT_THAT(state_.reconcile(reloaded), ElementsAre(HasSubstr("web")));
  EXPECT_EQ(route("web").active, "green");
}

TEST_F(TrafficStateTest, ReloadWithChangedCanaryResetsTheRoute) {
  ASSERT_TRUE(state_.setCanary("api", "gray", 50, config_).ok());
  const config::Config reloaded =
      makeConfig({"blue", "green", "gray"}, {{"web", "blue"}, {"api", "blue", "green", 20}});
  EXPECT_THAT(state_.reconcile(reloaded), ElementsAre(HasSubstr("api")));
  EXPECT_EQ(route("api").canary_pool, "green");
  EXPECT_EQ(route("api").canary_weight, 20);
}

TEST_F(TrafficStateTest, ReloadWithoutTheRuntimeActivePoolResetsTheRoute) {
  ASSERT_TRUE(state_.switchTo("web", "gray", config_).ok());
  const config::Config reloaded =
      makeConfig({"blue", "green"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  const std::vector<std::string> dropped = state_.reconcile(reloaded);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_THAT(dropped[0], HasSubstr("web"));
  EXPECT_THAT(dropped[0], HasSubstr("gone"));
  EXPECT_EQ(route("web").active, "blue");
  EXPECT_EQ(route("web").previous, "");
}

TEST_F(TrafficStateTest, ReloadWithoutTheRuntimeCanaryPoolResetsTheRoute) {
  ASSERT_TRUE(state_.setCanary("web", "gray", 5, config_).ok());
  const config::Config reloaded =
      makeConfig({"blue", "green"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  EXPECT_THAT(state_.reconcile(reloaded), ElementsAre(HasSubstr("web")));
  EXPECT_EQ(route("web").canary_pool, "");
}

TEST_F(TrafficStateTest, ReloadClearsAVanishedPreviousPoolAndKeepsTheRest) {
  ASSERT_TRUE(state_.switchTo("web", "gray", config_).ok());
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());  // previous: gray
  const config::Config reloaded =
      makeConfig({"blue", "green"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  EXPECT_THAT(state_.reconcile(reloaded), IsEmpty());
  EXPECT_EQ(route("web").active, "green");
  EXPECT_EQ(route("web").previous, "");
  EXPECT_EQ(state_.rollback("web").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TrafficStateTest, ReloadForgetsRemovedRoutesAndStartsNewOnesFromTheFile) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  const config::Config reloaded =
      makeConfig({"blue", "green", "gray"}, {{"api", "blue", "green", 10}, {"new", "gray"}});
  EXPECT_THAT(state_.reconcile(reloaded), IsEmpty());
  EXPECT_EQ(state_.find("web"), nullptr);
  EXPECT_EQ(route("new").active, "gray");
  EXPECT_EQ(route("new").previous, "");
  EXPECT_EQ(state_.routes().size(), 2u);
  // A route that comes back later starts over from the file.
  EXPECT_THAT(state_.reconcile(config_), IsEmpty());
  EXPECT_EQ(route("web").active, "blue");
}

// --- the state file ---

TEST_F(TrafficStateTest, ToJsonHasTheDocumentedShape) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  const nlohmann::json json = state_.toJson();
  EXPECT_EQ(json["version"], 1);
  const nlohmann::json& web = json["routes"]["web"];
  EXPECT_EQ(web["active"], "green");
  EXPECT_EQ(web["previous"], "blue");
  EXPECT_EQ(web["canary_pool"], "");
  EXPECT_EQ(web["base"]["pool"], "blue");
  EXPECT_EQ(json["routes"]["api"]["canary_weight"], 10.0);
  EXPECT_EQ(json["routes"]["api"]["base"]["canary_pool"], "green");
}

TEST_F(TrafficStateTest, SaveReadRestoreGivesTheSameRoutes) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.setCanary("web", "gray", 0.5, config_).ok());
  ASSERT_TRUE(state_.promote("api").ok());
  testing::TempDir dir;
  const std::string path = dir.file("state.json");
  ASSERT_TRUE(state_.save(path).ok());

  absl::StatusOr<nlohmann::json> read = TrafficState::readFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  TrafficState fresh;
  fresh.reconcile(config_);
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(*read, config_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(*restored, UnorderedElementsAre("web", "api"));
  EXPECT_EQ(fresh.routes(), state_.routes());
}

TEST_F(TrafficStateTest, RestoreIgnoresRoutesWhoseFileValuesChanged) {
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.switchTo("api", "gray", config_).ok());
  const nlohmann::json saved = state_.toJson();

  const config::Config edited =
      makeConfig({"blue", "green", "gray"}, {{"web", "gray"}, {"api", "blue", "green", 10}});
  TrafficState fresh;
  fresh.reconcile(edited);
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(saved, edited);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(*restored, ElementsAre("api"));
  EXPECT_EQ(fresh.find("web")->active, "gray");  // the file's new intent
  EXPECT_EQ(fresh.find("web")->previous, "");
  EXPECT_EQ(fresh.find("api")->active, "gray");
}

TEST_F(TrafficStateTest, RestoreIgnoresRoutesWhosePoolsAreGone) {
  ASSERT_TRUE(state_.switchTo("web", "gray", config_).ok());      // active gone below
  ASSERT_TRUE(state_.setCanary("api", "gray", 5, config_).ok());  // canary gone below
  const nlohmann::json saved = state_.toJson();

  const config::Config fewer =
      makeConfig({"blue", "green"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  TrafficState fresh;
  fresh.reconcile(fewer);
  const auto before = fresh.routes();
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(saved, fewer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(*restored, IsEmpty());
  EXPECT_EQ(fresh.routes(), before);
}

TEST_F(TrafficStateTest, RestoreClearsAVanishedPreviousPool) {
  ASSERT_TRUE(state_.switchTo("web", "gray", config_).ok());
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  const nlohmann::json saved = state_.toJson();
  const config::Config fewer =
      makeConfig({"blue", "green"}, {{"web", "blue"}, {"api", "blue", "green", 10}});
  TrafficState fresh;
  fresh.reconcile(fewer);
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(saved, fewer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(*restored, UnorderedElementsAre("web", "api"));
  EXPECT_EQ(fresh.find("web")->active, "green");
  EXPECT_EQ(fresh.find("web")->previous, "");
}

TEST_F(TrafficStateTest, RestoreIgnoresRoutesTheConfigurationDoesNotHave) {
  nlohmann::json saved = state_.toJson();
  saved["routes"]["ghost"] = saved["routes"]["web"];
  TrafficState fresh;
  fresh.reconcile(config_);
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(saved, config_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(fresh.find("ghost"), nullptr);
  EXPECT_THAT(*restored, UnorderedElementsAre("web", "api"));
}

TEST_F(TrafficStateTest, RestoreSkipsAnOutOfRangeWeight) {
  ASSERT_TRUE(state_.setCanary("web", "green", 5, config_).ok());
  nlohmann::json saved = state_.toJson();
  saved["routes"]["web"]["canary_weight"] = 150;
  TrafficState fresh;
  fresh.reconcile(config_);
  absl::StatusOr<std::vector<std::string>> restored = fresh.restore(saved, config_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(*restored, ElementsAre("api"));
  EXPECT_EQ(fresh.find("web")->canary_pool, "");
}

TEST_F(TrafficStateTest, RestoreRejectsDocumentsThatAreNotAStateFile) {
  TrafficState fresh;
  fresh.reconcile(config_);
  const auto before = fresh.routes();
  const nlohmann::json saved = state_.toJson();
  nlohmann::json version2 = saved;
  version2["version"] = 2;
  nlohmann::json no_version = saved;
  no_version.erase("version");
  nlohmann::json routes_array = saved;
  routes_array["routes"] = nlohmann::json::array();
  nlohmann::json route_without_active = saved;
  route_without_active["routes"]["web"].erase("active");
  nlohmann::json active_not_string = saved;
  active_not_string["routes"]["web"]["active"] = 7;
  nlohmann::json route_not_object = saved;
  route_not_object["routes"]["web"] = "blue";
  for (const nlohmann::json& bad :
       {nlohmann::json(), nlohmann::json::array(), nlohmann::json("x"), version2, no_version,
        routes_array, route_without_active, active_not_string, route_not_object}) {
    absl::StatusOr<std::vector<std::string>> restored = fresh.restore(bad, config_);
    EXPECT_EQ(restored.status().code(), absl::StatusCode::kInvalidArgument) << bad.dump();
  }
  EXPECT_EQ(fresh.routes(), before);
}

// BUG: restore() reads "version" with json::value("version", 0) outside its try block; when the
// key holds a non-number (a hand-edited "1", or null) nlohmann throws type_error 302 and the
// exception escapes restore() instead of becoming InvalidArgument (at startup: terminate).
// Fix: check `state["version"].is_number_integer() && state["version"] == 1` (or move the check
// into the try block).
TEST_F(TrafficStateTest, RestoreRejectsANonNumericVersion) {
  TrafficState fresh;
  fresh.reconcile(config_);
  for (const nlohmann::json& version : {nlohmann::json("1"), nlohmann::json()}) {
    nlohmann::json bad = state_.toJson();
    bad["version"] = version;
    absl::StatusOr<std::vector<std::string>> restored;
    EXPECT_NO_THROW(restored = fresh.restore(bad, config_)) << version.dump();
    EXPECT_EQ(restored.status().code(), absl::StatusCode::kInvalidArgument) << version.dump();
  }
}

// BUG: restore() assigns each good route as it goes, so when a later entry is malformed it
// returns InvalidArgument (the server logs "state_file_ignored") with the earlier routes already
// applied. Fix: collect the candidates first and assign them only when the whole document parsed.
TEST_F(TrafficStateTest, RestoreThatFailsChangesNothing) {
  ASSERT_TRUE(state_.switchTo("api", "gray", config_).ok());
  nlohmann::json bad = state_.toJson();
  bad["routes"]["web"] = "blue";  // "api" comes first in the object and is valid
  TrafficState fresh;
  fresh.reconcile(config_);
  const auto before = fresh.routes();
  EXPECT_FALSE(fresh.restore(bad, config_).ok());
  EXPECT_EQ(fresh.routes(), before);
  EXPECT_EQ(fresh.find("api")->active, "blue");
}

TEST(TrafficStateReadFileTest, MissingFileIsNotFoundAndGarbageIsInvalid) {
  testing::TempDir dir;
  EXPECT_EQ(TrafficState::readFile(dir.file("absent.json")).status().code(),
            absl::StatusCode::kNotFound);
  const std::string garbage = dir.writeFile("garbage.json", "{\"version\": 1, \"routes\": {");
  EXPECT_EQ(TrafficState::readFile(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string empty = dir.writeFile("empty.json", "");
  EXPECT_EQ(TrafficState::readFile(empty).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrafficStateTest, SaveReplacesTheTargetAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const std::string path = dir.writeFile("state.json", "old contents that are not JSON");
  ASSERT_TRUE(state_.switchTo("web", "green", config_).ok());
  ASSERT_TRUE(state_.save(path).ok());
  EXPECT_THAT(filesIn(dir.path()), ElementsAre("state.json"));
  EXPECT_EQ(nlohmann::json::parse(readText(path)), state_.toJson());

  // A second save replaces the first.
  ASSERT_TRUE(state_.rollback("web").ok());
  ASSERT_TRUE(state_.save(path).ok());
  EXPECT_THAT(filesIn(dir.path()), ElementsAre("state.json"));
  EXPECT_EQ(nlohmann::json::parse(readText(path))["routes"]["web"]["active"], "blue");
}

TEST_F(TrafficStateTest, SaveIntoAMissingDirectoryFailsCleanly) {
  testing::TempDir dir;
  const absl::Status status = state_.save(dir.file("missing/state.json"));
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing"));
  EXPECT_THAT(filesIn(dir.path()), IsEmpty());
}

// Root may write anywhere, so an unwritable directory is simulated by a target that cannot be
// replaced: the rename fails and the temporary file must not be left behind.
TEST_F(TrafficStateTest, SaveOverADirectoryFailsAndRemovesTheTemporaryFile) {
  testing::TempDir dir;
  const std::string target = dir.file("state.json");
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  const absl::Status status = state_.save(target);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(filesIn(dir.path()), ElementsAre("state.json"));
}

TEST_F(TrafficStateTest, SaveIntoAReadOnlyDirectoryFailsCleanly) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  testing::TempDir dir;
  const std::string sub = dir.file("ro");
  ASSERT_EQ(::mkdir(sub.c_str(), 0555), 0);
  EXPECT_FALSE(state_.save(sub + "/state.json").ok());
  EXPECT_THAT(filesIn(sub), IsEmpty());
  ::chmod(sub.c_str(), 0755);  // lets TempDir remove it
}

}  // namespace
}  // namespace sy::routing
