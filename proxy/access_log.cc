#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/log.h"
#include "proxy/json_line.h"

namespace sy::proxy {

absl::StatusOr<std::shared_ptr<AccessLogSink>> AccessLogSink::open(const std::string& path) {
  if (path == "-") {
    return std::shared_ptr<AccessLogSink>(new AccessLogSink(STDOUT_FILENO, false, path));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open access log ", path, ": ", std::strerror(errno)));
  }
  return std::shared_ptr<AccessLogSink>(new AccessLogSink(fd, true, path));
}

AccessLogSink::~AccessLogSink() {
  if (owned_) ::close(fd_);
}

bool AccessLogSink::write(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

AccessLogWriter::AccessLogWriter(uv_loop_t* loop, std::shared_ptr<AccessLogSink> sink,
                                 uint64_t flush_interval_ms, size_t buffer_bytes)
    : sink_(std::move(sink)), buffer_bytes_(buffer_bytes) {
  timer_.init(loop, uv_timer_init);
  timer_.get()->data = this;
  uv_timer_start(timer_.get(), &AccessLogWriter::onTimer, flush_interval_ms, flush_interval_ms);
  // The flush timer alone must not keep a stopping loop alive.
  uv_unref(timer_.asHandle());
}

AccessLogWriter::~AccessLogWriter() { flush(); }

void AccessLogWriter::configure(uint64_t flush_interval_ms, size_t buffer_bytes) {
  buffer_bytes_ = buffer_bytes;
  uv_timer_start(timer_.get(), &AccessLogWriter::onTimer, flush_interval_ms, flush_interval_ms);
}

namespace {

using routing::config::AccessLogField;

void appendTls(std::string* out, const std::optional<tls::TlsDetails>& tls) {
  if (!tls.has_value()) {
    out->append("null");
    return;
  }
  out->append("{\"version\":");
  appendJsonStringOrNull(out, tls->version);
  out->append(",\"cipher\":");
  appendJsonStringOrNull(out, tls->cipher);
  out->append(",\"alpn\":");
  appendJsonStringOrNull(out, tls->alpn);
  out->append(",\"sni\":");
  appendJsonStringOrNull(out, tls->sni);
  out->append(tls->resumed ? ",\"resumed\":true}" : ",\"resumed\":false}");
}

void appendTlsPart(std::string* out, const std::optional<tls::TlsDetails>& tls,
                   std::string_view tls::TlsDetails::*part) {
  appendJsonStringOrNull(out, tls.has_value() ? (*tls).*part : std::string_view());
}

void appendValue(std::string* out, AccessLogField field, const AccessLogRecord& r,
                 std::string_view timestamp) {
  switch (field) {
    case AccessLogField::kTime:
      appendJsonString(out, timestamp);
      return;
    case AccessLogField::kClient:
    case AccessLogField::kClientIp:
      appendJsonString(out, r.client);
      return;
    case AccessLogField::kMethod:
      appendJsonString(out, r.method);
      return;
    case AccessLogField::kHost:
      appendJsonStringOrNull(out, r.host);
      return;
    case AccessLogField::kPath:
      appendJsonString(out, r.target);
      return;
    case AccessLogField::kProtocol:
      appendJsonStringOrNull(out, r.protocol);
      return;
    case AccessLogField::kStatus:
      appendJsonUnsigned(out, static_cast<uint64_t>(r.status));
      return;
    case AccessLogField::kBytesIn:
      appendJsonUnsigned(out, r.bytes_in);
      return;
    case AccessLogField::kBytesOut:
      appendJsonUnsigned(out, r.bytes_out);
      return;
    case AccessLogField::kDurationMs:
      appendJsonMillis(out, r.duration_ms);
      return;
    case AccessLogField::kRoute:
      appendJsonStringOrNull(out, r.route);
      return;
    case AccessLogField::kPool:
      appendJsonStringOrNull(out, r.pool);
      return;
    case AccessLogField::kBackend:
      appendJsonStringOrNull(out, r.backend);
      return;
    case AccessLogField::kUpstreamMs:
      appendJsonMillis(out, r.upstream_ms);
      return;
    case AccessLogField::kUpstreamConnectMs:
      appendJsonMillis(out, r.upstream_connect_ms);
      return;
    case AccessLogField::kUpstreamHeaderMs:
      appendJsonMillis(out, r.upstream_header_ms);
      return;
    case AccessLogField::kUpstreamTotalMs:
      appendJsonMillis(out, r.upstream_total_ms);
      return;
    case AccessLogField::kRetries:
      appendJsonUnsigned(out, r.retries);
      return;
    case AccessLogField::kMirrored:
      out->append(r.mirrored ? "true" : "false");
      return;
    case AccessLogField::kLimitedBy:
      appendJsonStringOrNull(out, r.limited_by);
      return;
    case AccessLogField::kTls:
      appendTls(out, r.tls);
      return;
    case AccessLogField::kTlsVersion:
      appendTlsPart(out, r.tls, &tls::TlsDetails::version);
      return;
    case AccessLogField::kTlsCipher:
      appendTlsPart(out, r.tls, &tls::TlsDetails::cipher);
      return;
    case AccessLogField::kTlsSni:
      appendTlsPart(out, r.tls, &tls::TlsDetails::sni);
      return;
    case AccessLogField::kTlsAlpn:
      appendTlsPart(out, r.tls, &tls::TlsDetails::alpn);
      return;
    case AccessLogField::kTlsResumed:
      out->append(!r.tls.has_value() ? "null" : r.tls->resumed ? "true" : "false");
      return;
    case AccessLogField::kReason:
      appendJsonStringOrNull(out, r.reason);
      return;
    case AccessLogField::kRequestId:
      appendJsonStringOrNull(out, r.request_id);
      return;
    case AccessLogField::kUserAgent:
      appendJsonStringOrNull(out, r.user_agent);
      return;
    case AccessLogField::kReferer:
      appendJsonStringOrNull(out, r.referer);
      return;
  }
  out->append("null");
}

}  // namespace

void AccessLogWriter::formatLine(const AccessLogRecord& record,
                                 std::span<const routing::config::AccessLogField> fields,
                                 std::string_view timestamp, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const AccessLogField field : fields) {
    if (!first) out->push_back(',');
    first = false;
    // Keys are plain ASCII words: no escaping needed.
    out->push_back('"');
    out->append(routing::config::accessLogFieldName(field));
    out->append("\":");
    appendValue(out, field, record, timestamp);
  }
  out->push_back('}');
}

void AccessLogWriter::append(const AccessLogRecord& record,
                             std::span<const routing::config::AccessLogField> fields) {
  const absl::Time now = absl::Now();
  const int64_t second = absl::ToUnixSeconds(now);
  if (second != timestamp_second_) {
    timestamp_second_ = second;
    timestamp_ =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
  }
  const int64_t millis = absl::ToUnixMillis(now) - second * 1000;
  char stamp[32];
  const size_t prefix = std::min(timestamp_.size(), sizeof(stamp) - 6);
  std::memcpy(stamp, timestamp_.data(), prefix);
  stamp[prefix] = '.';
  stamp[prefix + 1] = static_cast<char>('0' + millis / 100);
  stamp[prefix + 2] = static_cast<char>('0' + millis / 10 % 10);
  stamp[prefix + 3] = static_cast<char>('0' + millis % 10);
  stamp[prefix + 4] = 'Z';
  formatLine(record, fields, std::string_view(stamp, prefix + 5), &buffer_);
  buffer_.push_back('\n');
  if (buffer_.size() >= buffer_bytes_) flush();
}

void AccessLogWriter::flush() {
  if (buffer_.empty()) return;
  if (!sink_->write(buffer_)) {
    if (write_errors_++ == 0) {
      core::logError("access_log_write_failed",
                     {{"path", sink_->path()}, {"error", std::strerror(errno)}});
    }
  }
  buffer_.clear();
  if (buffer_.capacity() > 2 * buffer_bytes_) std::string().swap(buffer_);
}

void AccessLogWriter::setSink(std::shared_ptr<AccessLogSink> sink) {
  flush();
  sink_ = std::move(sink);
}

void AccessLogWriter::onTimer(uv_timer_t* timer) {
  static_cast<AccessLogWriter*>(timer->data)->flush();
}

}  // namespace sy::proxy
