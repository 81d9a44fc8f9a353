// The run-time backend lists (routing/backend_overlay.h): changes on top of the configuration in
// force, the file's new intent winning over them, and the state-file form.

#include "routing/backend_overlay.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::Config overlayConfig(const std::string& backends) {
  config::LoadResult loaded = config::testing_util::parse(
      "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n[[pools]]\nname = \"app\"\nbackends = " +
      backends + "\n[[routes]]\nname = \"web\"\npool = \"app\"\n");
  EXPECT_TRUE(loaded.ok());
  return *loaded.config;
}

std::vector<std::string> listOf(const config::Config& config) {
  std::vector<std::string> out;
  for (const auto& backend : config.findPool("app")->backends) {
    out.push_back(backend.address_text + "*" + std::to_string(backend.weight));
  }
  return out;
}

TEST(BackendOverlayTest, ChangesApplyOnTopOfTheFile) {
  const config::Config file = overlayConfig(R"(["127.0.0.1:9001", "127.0.0.1:9002"])");
  BackendOverlay overlay;
  ASSERT_TRUE(overlay.add(file, file, "app", "127.0.0.1:9003", 2).ok());
  auto in_force = overlay.apply(file, nullptr);
  ASSERT_TRUE(overlay.remove(file, *in_force, "app", "127.0.0.1:9001").ok());
  ASSERT_TRUE(overlay.reweight(file, *in_force, "app", "127.0.0.1:9002", 5).ok());
  in_force = overlay.apply(file, nullptr);
  EXPECT_THAT(listOf(*in_force), ElementsAre("127.0.0.1:9002*5", "127.0.0.1:9003*2"));
  EXPECT_THAT(listOf(file), ElementsAre("127.0.0.1:9001*1", "127.0.0.1:9002*1"));
}

TEST(BackendOverlayTest, RefusalsChangeNothing) {
  const config::Config file = overlayConfig(R"(["127.0.0.1:9001"])");
  BackendOverlay overlay;
  EXPECT_EQ(overlay.add(file, file, "app", "127.0.0.1:9001", 1).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(overlay.add(file, file, "nope", "127.0.0.1:9002", 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(overlay.add(file, file, "app", "db.internal:5432", 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(overlay.add(file, file, "app", "127.0.0.1:9002", 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(overlay.add(file, file, "app", "127.0.0.1:9002", 1001).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(overlay.remove(file, file, "app", "127.0.0.1:9001").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(overlay.reweight(file, file, "app", "127.0.0.1:9009", 2).code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(listOf(*overlay.apply(file, nullptr)), ElementsAre("127.0.0.1:9001*1"));
}

TEST(BackendOverlayTest, TheFilesNewBackendsWinAndAGonePoolIsForgotten) {
  const config::Config file = overlayConfig(R"(["127.0.0.1:9001"])");
  BackendOverlay overlay;
  ASSERT_TRUE(overlay.add(file, file, "app", "127.0.0.1:9002", 1).ok());
  std::vector<std::string> notes;
  // The same file: the runtime list holds.
  EXPECT_THAT(listOf(*overlay.apply(file, &notes)),
              ElementsAre("127.0.0.1:9001*1", "127.0.0.1:9002*1"));
  EXPECT_TRUE(notes.empty());
  // The file's backends edited: they win, once and for all.
  const config::Config edited = overlayConfig(R"(["127.0.0.1:9005"])");
  EXPECT_THAT(listOf(*overlay.apply(edited, &notes)), ElementsAre("127.0.0.1:9005*1"));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("its backends changed in the file"));
  EXPECT_TRUE(overlay.empty());
  EXPECT_THAT(listOf(*overlay.apply(file, nullptr)), ElementsAre("127.0.0.1:9001*1"));
}

TEST(BackendOverlayTest, TheStateFileFormRoundTripsAndBadFormsAreRefused) {
  const config::Config file = overlayConfig(R"(["127.0.0.1:9001"])");
  BackendOverlay overlay;
  ASSERT_TRUE(overlay.add(file, file, "app", "[::1]:9002", 3).ok());
  BackendOverlay restored;
  ASSERT_TRUE(restored.restore(overlay.toJson()).ok());
  EXPECT_THAT(listOf(*restored.apply(file, nullptr)),
              ElementsAre("127.0.0.1:9001*1", "[::1]:9002*3"));
  EXPECT_FALSE(restored.restore(nlohmann::json::array()).ok());
  EXPECT_FALSE(restored.restore({{"app", {{"base", nlohmann::json::array()}}}}).ok());
  EXPECT_FALSE(restored
                   .restore({{"app",
                              {{"base", nlohmann::json::array()},
                               {"backends", {{{"address", "x"}, {"ip", "nope"}, {"weight", 1}}}}}}})
                   .ok());
  // A refused form leaves the overlay as it was.
  EXPECT_THAT(listOf(*restored.apply(file, nullptr)),
              ElementsAre("127.0.0.1:9001*1", "[::1]:9002*3"));
}

}  // namespace
}  // namespace sy::routing
