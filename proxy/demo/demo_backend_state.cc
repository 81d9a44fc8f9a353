#include "proxy/demo/demo_backend_state.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "http/local_reply.h"

namespace sy::proxy {
namespace {

using core::toAbsl;

uint64_t packFailPolicy(uint32_t rate_ppm, int status) {
  return (static_cast<uint64_t>(rate_ppm) << 32) | static_cast<uint32_t>(status);
}

uint32_t toPpm(double rate) { return static_cast<uint32_t>(std::llround(rate * 1e6)); }

std::string_view connectionLine(ConnectionHeader connection) {
  switch (connection) {
    case ConnectionHeader::kNone:
      return "";
    case ConnectionHeader::kKeepAlive:
      return "Connection: keep-alive\r\n";
    case ConnectionHeader::kClose:
      return "Connection: close\r\n";
  }
  return "";
}

}  // namespace

DemoBackendState::DemoBackendState(const DemoBackendOptions& options)
    : name_(options.name),
      default_body_(absl::StrCat(options.name, "\n")),
      delay_ms_(static_cast<uint64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(options.delay, absl::Milliseconds(1))))),
      health_status_(options.health_status),
      fail_policy_(packFailPolicy(toPpm(options.fail_rate), options.fail_status)),
      reset_rate_ppm_(toPpm(options.reset_rate)),
      log_requests_(options.log_requests) {
  for (ConnectionHeader connection :
       {ConnectionHeader::kNone, ConnectionHeader::kKeepAlive, ConnectionHeader::kClose}) {
    default_heads_[static_cast<int>(connection)] =
        absl::StrCat("HTTP/1.1 200 OK\r\nX-Backend: ", name_,
                     "\r\nContent-Type: text/plain\r\nContent-Length: ", default_body_.size(),
                     "\r\n", toAbsl(connectionLine(connection)), "Date: ");
  }
  default_tail_ = absl::StrCat("\r\n\r\n", default_body_);
}

DemoBackendState::FailPolicy DemoBackendState::failPolicy() const {
  const uint64_t packed = fail_policy_.load(std::memory_order_relaxed);
  return FailPolicy{static_cast<uint32_t>(packed >> 32), static_cast<int>(packed & 0xffffffffu)};
}

void DemoBackendState::setFailPolicy(double rate, int status) {
  fail_policy_.store(packFailPolicy(toPpm(rate), status), std::memory_order_relaxed);
}

std::string_view statusReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    default:
      return http::reasonPhrase(status);
  }
}

bool statusAllowsBody(int status) { return status >= 200 && status != 204 && status != 304; }

void appendResponseHead(std::string* out, int status, std::string_view backend_name,
                        std::string_view date, std::string_view content_type,
                        std::optional<uint64_t> content_length, ConnectionHeader connection,
                        std::string_view extra_headers) {
  absl::StrAppend(out, "HTTP/1.1 ", status, " ", toAbsl(statusReason(status)),
                  "\r\nX-Backend: ", toAbsl(backend_name), "\r\n");
  if (!content_type.empty()) absl::StrAppend(out, "Content-Type: ", toAbsl(content_type), "\r\n");
  if (statusAllowsBody(status)) {
    if (content_length.has_value()) {
      absl::StrAppend(out, "Content-Length: ", *content_length, "\r\n");
    } else {
      out->append("Transfer-Encoding: chunked\r\n");
    }
  }
  absl::StrAppend(out, toAbsl(connectionLine(connection)), "Date: ", toAbsl(date), "\r\n",
                  toAbsl(extra_headers), "\r\n");
}

}  // namespace sy::proxy
