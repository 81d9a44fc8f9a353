// BackendStateTable: following the configuration across reloads, the state snapshots read, and
// the admin states kept in the state file.

#include "health/backend_state_table.h"

#include <memory>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "routing/config/toml_loader.h"

namespace sy::health {
namespace {

using routing::AdminState;
using routing::HealthState;

constexpr std::string_view kHeader = R"([[listeners]]
listen = "127.0.0.1:8080"
[[routes]]
name = "default"
pool = "checked"
)";

constexpr std::string_view kCheck = "[pools.health_check]\ninterval = \"1s\"\n";

// Pools "checked" (with a health check unless `checked_has_check` is false) and "plain".
std::string twoPools(std::string_view checked_backends, std::string_view plain_backends,
                     bool checked_has_check = true, bool plain_has_check = false) {
  std::string text(kHeader);
  text += "[[pools]]\nname = \"checked\"\nbackends = " + std::string(checked_backends) + "\n";
  if (checked_has_check) text += kCheck;
  text += "[[pools]]\nname = \"plain\"\nbackends = " + std::string(plain_backends) + "\n";
  if (plain_has_check) text += kCheck;
  return text;
}

routing::config::Config load(const std::string& text) {
  routing::config::LoadResult result = routing::config::parseConfigText(text, "test.toml");
  EXPECT_TRUE(result.ok()) << routing::config::formatErrors(result.errors);
  return result.config.value_or(routing::config::Config());
}

constexpr std::string_view kA = "127.0.0.1:9001";
constexpr std::string_view kB = "127.0.0.1:9002";
constexpr std::string_view kC = "127.0.0.1:9003";

const std::string kAB = R"(["127.0.0.1:9001", "127.0.0.1:9002"])";
const std::string kBC = R"(["127.0.0.1:9002", "127.0.0.1:9003"])";
const std::string kA1 = R"(["127.0.0.1:9001"])";

TEST(BackendStateTableTest, NewBackendsAreUnknownWhenCheckedAndUncheckedOtherwise) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  ASSERT_NE(table.find("checked", kA), nullptr);
  EXPECT_EQ(table.find("checked", kA)->health, HealthState::kUnknown);
  EXPECT_EQ(table.find("checked", kB)->health, HealthState::kUnknown);
  EXPECT_EQ(table.find("checked", kA)->admin, AdminState::kReady);
  // The same address in another pool is another record.
  ASSERT_NE(table.find("plain", kA), nullptr);
  EXPECT_EQ(table.find("plain", kA)->health, HealthState::kUnchecked);
  EXPECT_EQ(table.find("plain", kB), nullptr);
  EXPECT_EQ(table.find("nope", kA), nullptr);
  EXPECT_TRUE(table.hasPool("checked"));
  EXPECT_TRUE(table.hasPool("plain"));
  EXPECT_FALSE(table.hasPool("nope"));
  EXPECT_EQ(table.poolBackends("checked").size(), 2u);
  EXPECT_EQ(table.poolBackends("plain").size(), 1u);
}

TEST(BackendStateTableTest, ReconcileKeepsStayingBackendsForgetsRemovedOnesAndAddsNewOnes) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  BackendRecord* b = table.find("checked", kB);
  ASSERT_NE(b, nullptr);
  b->health = HealthState::kUnhealthy;
  b->counters.failures = 3;
  b->admin = AdminState::kDraining;
  b->checks_failed = 7;
  b->ejected = true;
  b->ejections = 2;
  table.find("checked", kA)->admin = AdminState::kDisabled;

  table.reconcile(load(twoPools(kBC, kA1)));
  EXPECT_EQ(table.find("checked", kA), nullptr);  // removed: forgotten
  const BackendRecord* kept = table.find("checked", kB);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->health, HealthState::kUnhealthy);
  EXPECT_EQ(kept->counters.failures, 3u);
  EXPECT_EQ(kept->admin, AdminState::kDraining);
  EXPECT_EQ(kept->checks_failed, 7u);
  EXPECT_TRUE(kept->ejected);
  EXPECT_EQ(kept->ejections, 2u);
  const BackendRecord* added = table.find("checked", kC);
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->health, HealthState::kUnknown);
  EXPECT_EQ(added->admin, AdminState::kReady);

  // A backend that comes back after it was removed starts over: its old admin state is gone.
  table.reconcile(load(twoPools(kAB, kA1)));
  ASSERT_NE(table.find("checked", kA), nullptr);
  EXPECT_EQ(table.find("checked", kA)->admin, AdminState::kReady);
  EXPECT_EQ(table.find("checked", kA)->health, HealthState::kUnknown);
}

TEST(BackendStateTableTest, RemovedPoolIsForgotten) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  std::string only_checked(kHeader);
  only_checked += "[[pools]]\nname = \"checked\"\nbackends = " + kAB + "\n" + std::string(kCheck);
  table.reconcile(load(only_checked));
  EXPECT_FALSE(table.hasPool("plain"));
  EXPECT_EQ(table.find("plain", kA), nullptr);
  EXPECT_TRUE(table.poolBackends("plain").empty());
}

TEST(BackendStateTableTest, PoolGainingItsCheckStartsItsBackendsOverAsUnknown) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  BackendRecord* plain = table.find("plain", kA);
  ASSERT_NE(plain, nullptr);
  plain->admin = AdminState::kDraining;
  table.reconcile(load(twoPools(kAB, kA1, true, true)));
  plain = table.find("plain", kA);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->health, HealthState::kUnknown);
  EXPECT_EQ(plain->admin, AdminState::kDraining);  // operators' word is not health
}

TEST(BackendStateTableTest, PoolLosingItsCheckForgetsHealthAndLastCheck) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  BackendRecord* a = table.find("checked", kA);
  a->health = HealthState::kUnhealthy;
  a->counters.failures = 4;
  a->last_check = absl::Now();
  a->last_error = "status 503";
  table.reconcile(load(twoPools(kAB, kA1, false, false)));
  a = table.find("checked", kA);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->health, HealthState::kUnchecked);
  EXPECT_EQ(a->counters.failures, 0u);
  EXPECT_EQ(a->last_check, absl::InfinitePast());
  EXPECT_TRUE(a->last_error.empty());
  // And a check coming back starts at unknown again, not at the old verdict.
  table.reconcile(load(twoPools(kAB, kA1)));
  EXPECT_EQ(table.find("checked", kA)->health, HealthState::kUnknown);
}

TEST(BackendStateTableTest, ReconcileWithAnUnchangedCheckKeepsHealth) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  table.find("checked", kA)->health = HealthState::kHealthy;
  table.find("checked", kA)->counters.successes = 9;
  // The check's settings change, not its presence.
  std::string text = twoPools(kAB, kA1);
  text.replace(text.find("interval = \"1s\""), 15, "interval = \"2s\"");
  table.reconcile(load(text));
  EXPECT_EQ(table.find("checked", kA)->health, HealthState::kHealthy);
  EXPECT_EQ(table.find("checked", kA)->counters.successes, 9u);
}

TEST(BackendStateTableTest, StateOfReadsTheRecordAndDefaultsForUnknownBackends) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  BackendRecord* a = table.find("checked", kA);
  a->health = HealthState::kHealthy;
  a->admin = AdminState::kDisabled;
  a->ejected = true;
  const routing::BackendRuntime runtime = table.stateOf("checked", kA);
  EXPECT_EQ(runtime.health, HealthState::kHealthy);
  EXPECT_EQ(runtime.admin, AdminState::kDisabled);
  EXPECT_TRUE(runtime.ejected);
  const routing::BackendRuntime missing = table.stateOf("checked", "127.0.0.1:1");
  EXPECT_EQ(missing.health, HealthState::kUnchecked);
  EXPECT_EQ(missing.admin, AdminState::kReady);
  EXPECT_FALSE(missing.ejected);
}

TEST(BackendStateTableTest, TouchMovesOnlyThatPoolsVersion) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  const uint64_t checked = table.poolVersion("checked");
  const uint64_t plain = table.poolVersion("plain");
  EXPECT_NE(checked, 0u);
  EXPECT_NE(plain, 0u);
  EXPECT_EQ(table.poolVersion("nope"), 0u);
  table.touch("checked");
  EXPECT_NE(table.poolVersion("checked"), checked);
  EXPECT_EQ(table.poolVersion("plain"), plain);
  // A reload moves every pool: the builder rebuilds them against the new configuration.
  const uint64_t before = table.poolVersion("plain");
  table.reconcile(load(twoPools(kAB, kA1)));
  EXPECT_NE(table.poolVersion("plain"), before);
}

TEST(BackendStateTableTest, AdminStatesJsonListsOnlyBackendsNotReady) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  EXPECT_EQ(table.adminStatesJson(), nlohmann::json::object());
  table.find("checked", kA)->admin = AdminState::kDraining;
  table.find("plain", kA)->admin = AdminState::kDisabled;
  const nlohmann::json expected = {{"checked", {{std::string(kA), "draining"}}},
                                   {"plain", {{std::string(kA), "disabled"}}}};
  EXPECT_EQ(table.adminStatesJson(), expected);
}

TEST(BackendStateTableTest, AdminStatesRoundTripThroughJson) {
  BackendStateTable before;
  before.reconcile(load(twoPools(kAB, kA1)));
  before.find("checked", kA)->admin = AdminState::kDraining;
  before.find("checked", kB)->admin = AdminState::kDisabled;
  before.find("plain", kA)->admin = AdminState::kDraining;
  const std::string saved = before.adminStatesJson().dump();

  BackendStateTable after;
  after.reconcile(load(twoPools(kAB, kA1)));
  const uint64_t version = after.poolVersion("checked");
  after.restoreAdminStates(nlohmann::json::parse(saved));
  EXPECT_EQ(after.find("checked", kA)->admin, AdminState::kDraining);
  EXPECT_EQ(after.find("checked", kB)->admin, AdminState::kDisabled);
  EXPECT_EQ(after.find("plain", kA)->admin, AdminState::kDraining);
  EXPECT_EQ(after.adminStatesJson(), before.adminStatesJson());
  EXPECT_NE(after.poolVersion("checked"), version);  // snapshots must pick it up
  // Health is not part of it: restored backends are still waiting for their first check.
  EXPECT_EQ(after.find("checked", kA)->health, HealthState::kUnknown);
}

TEST(BackendStateTableTest, RestoreSkipsWhatNoLongerExistsAndWhatItDoesNotUnderstand) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  const nlohmann::json states = {
      {"checked",
       {{std::string(kA), "disabled"},
        {std::string(kB), "sleeping"},    // unknown state name
        {std::string(kC), "draining"}}},  // no longer configured
      {"gone", {{std::string(kA), "draining"}}},
      {"plain", "draining"},  // not an object
  };
  table.restoreAdminStates(states);
  EXPECT_EQ(table.find("checked", kA)->admin, AdminState::kDisabled);
  EXPECT_EQ(table.find("checked", kB)->admin, AdminState::kReady);
  EXPECT_EQ(table.find("checked", kC), nullptr);
  EXPECT_EQ(table.find("plain", kA)->admin, AdminState::kReady);
  // Garbage as a whole is ignored too.
  table.restoreAdminStates(nlohmann::json::array({1, 2}));
  table.restoreAdminStates(nlohmann::json(42));
  table.restoreAdminStates(nlohmann::json({{"checked", {{std::string(kB), 3}}}}));
  EXPECT_EQ(table.find("checked", kB)->admin, AdminState::kReady);
}

TEST(BackendStateTableTest, ForEachVisitsEveryRecord) {
  BackendStateTable table;
  table.reconcile(load(twoPools(kAB, kA1)));
  int count = 0;
  table.forEach([&](BackendRecord& record) {
    ++count;
    EXPECT_FALSE(record.pool.empty());
    EXPECT_FALSE(record.address.empty());
  });
  EXPECT_EQ(count, 3);
}

}  // namespace
}  // namespace sy::health
