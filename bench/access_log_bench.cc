// The access log's per-request cost: the nlohmann::json line of earlier releases against the
// fixed-order encoder (proxy/json_line.h) that replaced it, with and without the timestamp
// (formatted per line before, once a second now). Results: bench/RESULTS.md.

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "proxy/access_log.h"

namespace sy::proxy {
namespace {

// The encoder of earlier releases, verbatim (proxy/access_log.cc before issue 15).
std::string legacyFormatLine(const AccessLogRecord& r, std::string_view timestamp) {
  auto text = [](std::string_view value) {
    return value.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(value);
  };
  nlohmann::ordered_json line = {
      {"time", timestamp},
      {"client", r.client},
      {"method", r.method},
      {"path", r.target},
      {"status", r.status},
      {"bytes_in", r.bytes_in},
      {"bytes_out", r.bytes_out},
      {"duration_ms", r.duration_ms},
      {"route", text(r.route)},
      {"pool", text(r.pool)},
      {"backend", text(r.backend)},
      {"upstream_ms",
       r.upstream_ms < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.upstream_ms)},
      {"retries", r.retries},
      {"mirrored", r.mirrored},
      {"limited_by", text(r.limited_by)},
      {"tls", nullptr},
      {"reason", text(r.reason)},
  };
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

AccessLogRecord benchRecord() {
  AccessLogRecord r;
  r.client = "192.168.10.23";
  r.method = "GET";
  r.target = "/api/v1/users/12345/orders?limit=20&sort=desc";
  r.status = 200;
  r.bytes_in = 412;
  r.bytes_out = 2381;
  r.duration_ms = 1.734;
  r.route = "api";
  r.pool = "blue";
  r.backend = "10.0.3.17:8080";
  r.upstream_ms = 1.512;
  r.request_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

void BM_AccessLogLegacyNlohmann(benchmark::State& state) {
  const AccessLogRecord record = benchRecord();
  std::string buffer;
  for (auto _ : state) {
    buffer.append(legacyFormatLine(record, "2026-12-05T17:00:00.123Z"));
    buffer.push_back('\n');
    if (buffer.size() > 64 * 1024) buffer.clear();
  }
}
BENCHMARK(BM_AccessLogLegacyNlohmann);

void BM_AccessLogFixedEncoder(benchmark::State& state) {
  const AccessLogRecord record = benchRecord();
  std::string buffer;
  for (auto _ : state) {
    AccessLogWriter::formatLine(record, routing::config::defaultAccessLogFields(),
                                "2026-12-05T17:00:00.123Z", &buffer);
    buffer.push_back('\n');
    if (buffer.size() > 64 * 1024) buffer.clear();
  }
}
BENCHMARK(BM_AccessLogFixedEncoder);

// With the clock: the old append formatted the time per line.
void BM_AccessLogLegacyWithTimestamp(benchmark::State& state) {
  const AccessLogRecord record = benchRecord();
  std::string buffer;
  for (auto _ : state) {
    const std::string timestamp =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
    buffer.append(legacyFormatLine(record, timestamp));
    buffer.push_back('\n');
    if (buffer.size() > 64 * 1024) buffer.clear();
  }
}
BENCHMARK(BM_AccessLogLegacyWithTimestamp);

void BM_AccessLogWriterAppend(benchmark::State& state) {
  const AccessLogRecord record = benchRecord();
  uv_loop_t loop;
  uv_loop_init(&loop);
  auto sink = AccessLogSink::open("/dev/null");
  {
    AccessLogWriter writer(&loop, *sink, 1000, 64 * 1024);
    for (auto _ : state) writer.append(record);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}
BENCHMARK(BM_AccessLogWriterAppend);

// A hostile target (quotes, control bytes, invalid UTF-8): the escaping path.
void BM_AccessLogFixedEncoderEscaping(benchmark::State& state) {
  AccessLogRecord record = benchRecord();
  const std::string target = "/search?q=\"x\"\t\xff\xfe/caf\xc3\xa9/%2e%2e/" + std::string(40, 'a');
  record.target = target;
  std::string buffer;
  for (auto _ : state) {
    AccessLogWriter::formatLine(record, routing::config::defaultAccessLogFields(),
                                "2026-12-05T17:00:00.123Z", &buffer);
    if (buffer.size() > 64 * 1024) buffer.clear();
  }
}
BENCHMARK(BM_AccessLogFixedEncoderEscaping);

}  // namespace
}  // namespace sy::proxy
