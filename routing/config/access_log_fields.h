#pragma once

// The keys an access log line may carry ([access_log] fields), in the order the user lists them.
// conf/REFERENCE.md documents each one.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sy::routing::config {

enum class AccessLogField : uint8_t {
  kTime,
  kClient,
  kClientIp,  // the same value as kClient, under the name other logs use
  kMethod,
  kHost,
  kPath,
  kProtocol,
  kStatus,
  kBytesIn,
  kBytesOut,
  kDurationMs,
  kRoute,
  kPool,
  kBackend,
  kUpstreamMs,
  kUpstreamConnectMs,
  kUpstreamHeaderMs,
  kUpstreamTotalMs,
  kRetries,
  kMirrored,
  kLimitedBy,
  kTls,
  kTlsVersion,
  kTlsCipher,
  kTlsSni,
  kTlsAlpn,
  kTlsResumed,
  kReason,
  kRequestId,
  kUserAgent,
  kReferer,
};

// The key of `field` in a line ("client_ip").
std::string_view accessLogFieldName(AccessLogField field);
// The field of that key; nullopt for an unknown one.
std::optional<AccessLogField> accessLogFieldByName(std::string_view name);
// Every key, in the order of the enum (for error messages and the reference).
std::span<const std::string_view> accessLogFieldNames();
// The line without a `fields` key: the keys of earlier releases, then request_id.
std::span<const AccessLogField> defaultAccessLogFields();

}  // namespace sy::routing::config
