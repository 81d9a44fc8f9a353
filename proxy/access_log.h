#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/uv_handle.h"
#include "routing/config/access_log_fields.h"
#include "tls/tls_details.h"

namespace sy::proxy {

// An open access log destination, shared by every worker. The descriptor closes when the last
// user lets go, so a reopen (SIGUSR1, logrotate) never pulls a file from under a worker.
class AccessLogSink {
 public:
  // "-" is standard output; anything else is a file opened for appending (created 0644).
  static absl::StatusOr<std::shared_ptr<AccessLogSink>> open(const std::string& path);
  ~AccessLogSink();
  AccessLogSink(const AccessLogSink&) = delete;
  AccessLogSink& operator=(const AccessLogSink&) = delete;

  const std::string& path() const { return path_; }
  // Writes all of `data` (O_APPEND: lines of different workers never interleave inside a line).
  // Returns false on an error, which the caller counts; the lines are lost, the proxy goes on.
  bool write(std::string_view data);

 private:
  AccessLogSink(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)) {}
  int fd_;
  bool owned_;
  std::string path_;
};

// Where and how the workers write the access log; a null sink means off.
struct AccessLogSettings {
  std::shared_ptr<AccessLogSink> sink;
  uint64_t flush_interval_ms = 1000;
  size_t buffer_bytes = 64 * 1024;
};

// What one access log line says about a request.
struct AccessLogRecord {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  std::string_view host;      // as the client named it (Host, or an absolute-form target's)
  std::string_view protocol;  // "HTTP/1.1"
  std::string_view user_agent;
  std::string_view referer;
  std::string_view request_id;  // empty when the listener and route give requests no id
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double duration_ms = 0;
  std::string_view route;
  std::string_view pool;
  std::string_view backend;
  double upstream_ms = -1;  // time to the response head; -1 when no backend answered
  // The last try's phases, from its start (nginx's $upstream_connect_time, _header_time,
  // _response_time); -1 when not measured. Connect is 0 on a reused connection.
  double upstream_connect_ms = -1;
  double upstream_header_ms = -1;
  double upstream_total_ms = -1;
  uint32_t retries = 0;
  bool mirrored = false;
  // The limit that refused the request ("rate_limit"); empty when none did.
  std::string_view limited_by;
  // Why the proxy cut the exchange short ("shutdown_timeout", "shutdown_forced"); empty when it
  // did not.
  std::string_view reason;
  // Set on a TLS listener: what the handshake settled.
  std::optional<tls::TlsDetails> tls;
};

// One worker's access log: lines are formatted into a buffer on the request path and written
// when the buffer fills, on a timer, and when the worker stops, so a request never waits for
// the disk. Worker thread only.
class AccessLogWriter {
 public:
  AccessLogWriter(uv_loop_t* loop, std::shared_ptr<AccessLogSink> sink, uint64_t flush_interval_ms,
                  size_t buffer_bytes);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // `fields`: the keys of the line, in order (routing/config/access_log_fields.h).
  void append(const AccessLogRecord& record,
              std::span<const routing::config::AccessLogField> fields =
                  routing::config::defaultAccessLogFields());
  void flush();
  // Flushes to the old destination, then writes to `sink` (reopen, reload).
  void setSink(std::shared_ptr<AccessLogSink> sink);
  void configure(uint64_t flush_interval_ms, size_t buffer_bytes);
  uint64_t writeErrors() const { return write_errors_; }

  // Appends one line (no trailing newline) to `out`; exposed for tests and the bench. A fixed
  // order hand encoder (proxy/json_line.h): bench/access_log_bench.cc measured nlohmann::json
  // at several times its cost.
  static void formatLine(const AccessLogRecord& record,
                         std::span<const routing::config::AccessLogField> fields,
                         std::string_view timestamp, std::string* out);
  static std::string formatLine(const AccessLogRecord& record, std::string_view timestamp) {
    std::string line;
    formatLine(record, routing::config::defaultAccessLogFields(), timestamp, &line);
    return line;
  }

 private:
  static void onTimer(uv_timer_t* timer);

  std::shared_ptr<AccessLogSink> sink_;
  core::UvHandle<uv_timer_t> timer_;
  std::string buffer_;
  size_t buffer_bytes_;
  uint64_t write_errors_ = 0;
  // "2026-01-02T03:04:05" of the second last formatted: the clock is formatted once a second.
  int64_t timestamp_second_ = -1;
  std::string timestamp_;
};

}  // namespace sy::proxy
