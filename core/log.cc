#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sy::core {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kJson};
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_write_mutex;
thread_local const nlohmann::json* t_scoped_fields = nullptr;

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

ScopedLogFields::ScopedLogFields(nlohmann::json fields)
    : fields_(std::move(fields)), outer_(t_scoped_fields) {
  if (outer_ != nullptr) {
    for (const auto& [key, value] : outer_->items()) {
      if (!fields_.contains(key)) fields_[key] = value;
    }
  }
  t_scoped_fields = &fields_;
}

ScopedLogFields::~ScopedLogFields() { t_scoped_fields = outer_; }

void setLogFormat(LogFormat format) { g_format.store(format, std::memory_order_relaxed); }
void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
bool logEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

bool parseLogFormat(std::string_view text, LogFormat* out) {
  if (text == "json") {
    *out = LogFormat::kJson;
  } else if (text == "text") {
    *out = LogFormat::kText;
  } else {
    return false;
  }
  return true;
}

bool parseLogLevel(std::string_view text, LogLevel* out) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == levelName(level)) {
      *out = level;
      return true;
    }
  }
  return false;
}

std::string formatLogLine(LogFormat format, LogLevel level, std::string_view event,
                          const nlohmann::json& fields, std::string_view timestamp) {
  if (format == LogFormat::kJson) {
    nlohmann::json line = nlohmann::json::object();
    line["time"] = timestamp;
    line["level"] = levelName(level);
    line["event"] = event;
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) line[key] = value;
    }
    // Invalid UTF-8 from peers must never throw out of the logger.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  out.append(timestamp).append(" ");
  std::string upper = levelName(level);
  for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
  out.append(upper).append(" ").append(event);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      out.append(" ").append(key).append("=");
      if (value.is_string()) {
        out.append(value.get<std::string>());
      } else {
        out.append(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
  }
  return out;
}

void logEvent(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (!logEnabled(level)) return;
  const std::string timestamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (t_scoped_fields != nullptr && (fields.is_object() || fields.is_null())) {
    nlohmann::json merged = fields.is_object() ? fields : nlohmann::json::object();
    for (const auto& [key, value] : t_scoped_fields->items()) {
      if (!merged.contains(key)) merged[key] = value;
    }
    line = formatLogLine(g_format.load(std::memory_order_relaxed), level, event, merged, timestamp);
  } else {
    line = formatLogLine(g_format.load(std::memory_order_relaxed), level, event, fields, timestamp);
  }
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sy::core
