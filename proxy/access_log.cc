#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/log.h"
#include "nlohmann/json.hpp"

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

std::string AccessLogWriter::formatLine(const AccessLogRecord& r, std::string_view timestamp) {
  nlohmann::ordered_json line = {
      {"time", timestamp},
      {"client", r.client},
      {"method", r.method},
      {"path", r.target},
      {"status", r.status},
      {"bytes_in", r.bytes_in},
      {"bytes_out", r.bytes_out},
      {"duration_ms", r.duration_ms},
      {"route",
       r.route.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.route)},
      {"pool", r.pool.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.pool)},
      {"backend",
       r.backend.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.backend)},
      {"upstream_ms",
       r.upstream_ms < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.upstream_ms)},
      {"retries", r.retries},
      {"mirrored", r.mirrored},
      {"limited_by", r.limited_by.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(r.limited_by)},
      {"tls", nullptr},
      {"reason",
       r.reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.reason)},
  };
  if (r.tls.has_value()) {
    auto text = [](std::string_view value) {
      return value.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(value);
    };
    line["tls"] = {{"version", text(r.tls->version)},
                   {"cipher", text(r.tls->cipher)},
                   {"alpn", text(r.tls->alpn)},
                   {"sni", text(r.tls->sni)},
                   {"resumed", r.tls->resumed}};
  }
  // A request target may carry anything; never let bad UTF-8 throw out of the request path.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AccessLogWriter::append(const AccessLogRecord& record) {
  const std::string timestamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  buffer_.append(formatLine(record, timestamp));
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
