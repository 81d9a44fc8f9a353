#pragma once

// Event log: one line per event on stderr, JSON by default, `--log-format text` for humans.
// Events are rare (startup, reload, switch, errors); the request path never logs per request.

#include <string_view>
#include <type_traits>

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

// While one lives, every event line this thread writes also carries `fields` (a JSON object),
// unless the line sets the same key itself. The admin API uses it so that a change it causes is
// logged with who asked for it (`by`, `from`) without threading the caller through every call.
// Nested scopes add to the outer one's fields. Not movable: it restores the outer scope when it
// ends.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(nlohmann::json fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  nlohmann::json fields_;
  const nlohmann::json* outer_;
};

// Formats a line without writing it; exposed for tests.
std::string formatLogLine(LogFormat format, LogLevel level, std::string_view event,
                          const nlohmann::json& fields, std::string_view timestamp);

// Debug events may sit on paths that run per request (an upstream failure), where debug is
// usually off: the fields come from `make_fields`, called only when debug is on, so a disabled
// event costs one relaxed load and builds nothing. There is no overload taking the fields
// themselves, which would build them (and allocate) before the level check.
//   core::logDebug("upstream_failure", [&] { return nlohmann::json{{"backend", address}}; });
inline void logDebug(std::string_view event) {
  if (logEnabled(LogLevel::kDebug)) logEvent(LogLevel::kDebug, event);
}
template <typename MakeFields>
requires std::is_invocable_r_v<nlohmann::json, MakeFields&>
void logDebug(std::string_view event, MakeFields&& make_fields) {
  if (logEnabled(LogLevel::kDebug)) logEvent(LogLevel::kDebug, event, make_fields());
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
