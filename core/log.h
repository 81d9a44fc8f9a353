#pragma once

// Event log: one line per event on stderr, JSON by default, `--log-format text` for humans.
// Events are rare (startup, reload, switch, errors); the request path never logs per request.

#include <string_view>

#include "nlohmann/json.hpp"

namespace sy::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kJson, kText };

void setLogFormat(LogFormat format);
void setLogLevel(LogLevel level);
bool parseLogFormat(std::string_view text, LogFormat* out);
bool parseLogLevel(std::string_view text, LogLevel* out);
bool logEnabled(LogLevel level);

// Writes one event line. `fields` must be a JSON object (or null). Thread-safe.
void logEvent(LogLevel level, std::string_view event, const nlohmann::json& fields = nullptr);

// Formats a line without writing it; exposed for tests.
std::string formatLogLine(LogFormat format, LogLevel level, std::string_view event,
                          const nlohmann::json& fields, std::string_view timestamp);

inline void logDebug(std::string_view event, const nlohmann::json& fields = nullptr) {
  if (logEnabled(LogLevel::kDebug)) logEvent(LogLevel::kDebug, event, fields);
}
inline void logInfo(std::string_view event, const nlohmann::json& fields = nullptr) {
  logEvent(LogLevel::kInfo, event, fields);
}
inline void logWarn(std::string_view event, const nlohmann::json& fields = nullptr) {
  logEvent(LogLevel::kWarn, event, fields);
}
inline void logError(std::string_view event, const nlohmann::json& fields = nullptr) {
  logEvent(LogLevel::kError, event, fields);
}

}  // namespace sy::core
