// [[rollouts]] in the configuration file: read as the JSON body of POST /admin/rollouts and
// checked by the same parser, each error placed at the key it names.

#include "proxy/control/rollout_declarations.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "routing/config/toml_loader.h"

namespace sy::proxy::control {
namespace {

constexpr char kRolloutBase[] = R"(
[[listeners]]
name = "http"
listen = "127.0.0.1:0"

[[pools]]
name = "blue"
backends = ["127.0.0.1:9001"]

[[pools]]
name = "green"
backends = ["127.0.0.1:9002"]

[[routes]]
name = "web"
pool = "blue"
)";

routing::config::LoadResult loadWithRollouts(const std::string& rollouts) {
  routing::config::LoadResult loaded =
      routing::config::parseConfigText(absl::StrCat(kRolloutBase, rollouts), "test.toml");
  addDeclaredRolloutErrors(loaded);
  return loaded;
}

std::string rolloutErrors(const std::string& rollouts) {
  return routing::config::formatErrors(loadWithRollouts(rollouts).errors);
}

TEST(RolloutDeclarationsTest, ATableIsTheJsonBodyOfTheAdminApi) {
  routing::config::LoadResult loaded = loadWithRollouts(R"(
[[rollouts]]
route = "web"
pool = "green"
steps = [ { weight = 10, hold = "1m" }, { weight = 100, hold = "5m" } ]
on_success = "promote"
analysis = { interval = "30s", min_requests = 200, max_error_rate = 0.01, failure_limit = 2 }
webhooks = { gate = { url = "http://127.0.0.1:8090/gate", timeout = "2s", retries = 1 } }
)");
  ASSERT_TRUE(loaded.ok()) << routing::config::formatErrors(loaded.errors);
  ASSERT_EQ(loaded.config->rollouts.size(), 1u);
  const nlohmann::json spec = nlohmann::json::parse(loaded.config->rollouts[0].spec_json);
  EXPECT_EQ(spec["steps"][1]["weight"], 100);
  EXPECT_EQ(spec["analysis"]["max_error_rate"], 0.01);
  EXPECT_EQ(spec["webhooks"]["gate"]["retries"], 1);
  EXPECT_EQ(loaded.config->rollouts[0].key, "rollouts[0]");
}

TEST(RolloutDeclarationsTest, TheRouteMayBeLeftOutWithOneRoute) {
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
pool = "green"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
)"),
            "");
}

TEST(RolloutDeclarationsTest, ErrorsNameTheKeyAndItsLine) {
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
route = "web"
pool = "green"
steps = [ { weight = 50 }, { weight = 40 } ]
analysis = { max_error_rate = 0.01 }
)"),
            "test.toml:21:9: rollouts[0].steps[1].weight: weights must increase from step to "
            "step\n");
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
route = "api"
pool = "green"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
)"),
            "test.toml:19:9: rollouts[0].route: no [[routes]] table is named \"api\"\n");
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
pool = "blue"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
)"),
            "test.toml:19:8: rollouts[0].pool: \"blue\" is route \"web\"'s own pool: a rollout "
            "moves traffic to another\n");
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
pool = "red"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
)"),
            "test.toml:19:8: rollouts[0].pool: no [[pools]] table is named \"red\"\n");
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
pool = "green"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
webhooks = { notify = "https://hooks.example/x" }
)"),
            "test.toml:22:12: rollouts[0].webhooks.notify: \"https://hooks.example/x\": only "
            "http:// webhooks are supported\n");
  EXPECT_EQ(rolloutErrors(R"(
[[rollouts]]
pool = "green"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
colour = "red"
)"),
            "test.toml:22:10: rollouts[0].colour: unknown key\n");
  const std::string twice = R"(
[[rollouts]]
pool = "green"
steps = [ { weight = 50 } ]
analysis = { max_error_rate = 0.01 }
)";
  EXPECT_EQ(rolloutErrors(twice + twice),
            "test.toml:23:1: rollouts[1].route: route \"web\" has another [[rollouts]] table: "
            "one per route\n");
}

}  // namespace
}  // namespace sy::proxy::control
