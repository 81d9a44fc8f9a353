#include "core/log.h"

#include "gtest/gtest.h"

namespace sy::core {
namespace {

// Restores the process-wide level whatever a test sets.
class LogLevelTest : public ::testing::Test {
 protected:
  ~LogLevelTest() override { setLogLevel(LogLevel::kInfo); }
};

TEST_F(LogLevelTest, DebugFieldsAreNotBuiltWhenDebugIsOff) {
  setLogLevel(LogLevel::kInfo);
  int built = 0;
  logDebug("log_test_event", [&] {
    ++built;
    return nlohmann::json{{"field", "value"}};
  });
  EXPECT_EQ(built, 0);
}

TEST_F(LogLevelTest, DebugFieldsAreBuiltOnceWhenDebugIsOn) {
  setLogLevel(LogLevel::kDebug);
  int built = 0;
  logDebug("log_test_event", [&] {
    ++built;
    return nlohmann::json{{"field", "value"}};
  });
  EXPECT_EQ(built, 1);
}

}  // namespace
}  // namespace sy::core
