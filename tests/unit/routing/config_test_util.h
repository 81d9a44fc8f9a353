#pragma once

// Shared by the config loader tests: parse a TOML snippet and match the errors it produces.

#include <ostream>
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "routing/config/toml_loader.h"

namespace sy::routing::config {

// gtest prints failing ConfigErrors the way --check shows them.
inline void PrintTo(const ConfigError& error, std::ostream* out) { *out << error.toString(); }

namespace testing_util {

// Raw strings in the tests start with a newline after R"( so that the TOML reads naturally;
// dropping it makes the first TOML line line 1, as the expected positions assume.
inline LoadResult parse(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return parseConfigText(text, "test.toml");
}

MATCHER_P3(IsError, line, key, message_part, "") {
  return arg.line == line && arg.key == key &&
         arg.message.find(message_part) != std::string::npos && arg.file == "test.toml";
}

// The single error `result` must contain, with its line, key and a part of its message.
#define EXPECT_ONLY_ERROR(result, line, key, message_part)                                   \
  do {                                                                                       \
    const ::sy::routing::config::LoadResult& only_error_result = (result);                   \
    EXPECT_FALSE(only_error_result.config.has_value());                                      \
    EXPECT_THAT(only_error_result.errors,                                                    \
                ::testing::ElementsAre(                                                      \
                    ::sy::routing::config::testing_util::IsError(line, key, message_part))); \
  } while (0)

// The pool and route of the minimal configuration below; tests about listeners append it to
// the listeners they exercise (parseListeners).
inline constexpr std::string_view kBluePoolAndRoute = R"([[pools]]
name = "blue"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "default"
pool = "blue"
)";

// A configuration with one listener, pool and route; tests append what they exercise. It has
// kMinimalLines lines, so appended lines start at kMinimalLines + 1.
inline constexpr std::string_view kMinimalListener = R"([[listeners]]
listen = "127.0.0.1:8080"
)";
inline constexpr int kMinimalLines = 8;

inline LoadResult parseWithMinimal(std::string_view extra) {
  if (!extra.empty() && extra.front() == '\n') extra.remove_prefix(1);
  return parseConfigText(
      std::string(kMinimalListener) + std::string(kBluePoolAndRoute) + std::string(extra),
      "test.toml");
}

// Listeners under test followed by the blue pool and the default route (line numbers count
// from the first listener line).
inline LoadResult parseListeners(std::string_view listeners) {
  if (!listeners.empty() && listeners.front() == '\n') listeners.remove_prefix(1);
  return parseConfigText(std::string(listeners) + std::string(kBluePoolAndRoute), "test.toml");
}

}  // namespace testing_util
}  // namespace sy::routing::config
