#include "routing/config/access_log_fields.h"

#include <array>

namespace sy::routing::config {
namespace {

// Indexed by AccessLogField.
constexpr std::array<std::string_view, 31> kNames = {
    "time",
    "client",
    "client_ip",
    "method",
    "host",
    "path",
    "protocol",
    "status",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "route",
    "pool",
    "backend",
    "upstream_ms",
    "upstream_connect_ms",
    "upstream_header_ms",
    "upstream_total_ms",
    "retries",
    "mirrored",
    "limited_by",
    "tls",
    "tls_version",
    "tls_cipher",
    "tls_sni",
    "tls_alpn",
    "tls_resumed",
    "reason",
    "request_id",
    "user_agent",
    "referer",
};
static_assert(kNames.size() == static_cast<size_t>(AccessLogField::kReferer) + 1);

using F = AccessLogField;
constexpr AccessLogField kDefault[] = {
    F::kTime,     F::kClient,     F::kMethod,    F::kPath, F::kStatus,  F::kBytesIn,
    F::kBytesOut, F::kDurationMs, F::kRoute,     F::kPool, F::kBackend, F::kUpstreamMs,
    F::kRetries,  F::kMirrored,   F::kLimitedBy, F::kTls,  F::kReason,  F::kRequestId,
};

}  // namespace

std::string_view accessLogFieldName(AccessLogField field) {
  return kNames[static_cast<size_t>(field)];
}

std::optional<AccessLogField> accessLogFieldByName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<AccessLogField>(i);
  }
  return std::nullopt;
}

std::span<const std::string_view> accessLogFieldNames() { return kNames; }

std::span<const AccessLogField> defaultAccessLogFields() { return kDefault; }

}  // namespace sy::routing::config
