// [fleet]: etcd endpoints, key prefix and this instance's name (conf/REFERENCE.md, "[fleet]").

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/net_address.h"
#include "routing/config/schemas.h"

namespace sy::routing::config {
namespace {

// "http://HOST:PORT" with nothing after the port: the etcd JSON gateway's base URL.
absl::StatusOr<std::string> checkEtcdUrl(std::string_view text) {
  const std::string url(text);
  if (absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url,
                     "\": TLS to etcd is not supported yet; use an http:// URL (loopback or a "
                     "private network)"));
  }
  if (!absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected an etcd client URL such as \"http://127.0.0.1:2379\", got \"", url, "\""));
  }
  std::string host_port = url.substr(7);
  if (!host_port.empty() && host_port.back() == '/') host_port.pop_back();
  if (host_port.empty() || host_port.find('/') != std::string::npos ||
      host_port.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected \"http://HOST:PORT\" (no path), such as \"http://127.0.0.1:2379\", got \"", url,
        "\""));
  }
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(host_port, false);
  if (!address.ok() && !absl::StrContains(host_port, "]")) {
    // A host name: its port must still be a number.
    const std::string port = host_port.substr(host_port.rfind(':') + 1);
    bool digits = !port.empty() && port.size() <= 5;
    for (const char c : port) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!digits) {
      return absl::InvalidArgumentError(absl::StrCat("\"", url, "\": the port must be a number"));
    }
  } else if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\": ", address.status().message()));
  }
  return absl::StrCat("http://", host_port);
}

// "/switchyard/prod": absolute, no trailing '/', printable ASCII without spaces.
absl::StatusOr<std::string> checkPrefix(std::string_view text) {
  bool ok = text.size() >= 2 && text.front() == '/' && text.back() != '/';
  for (const char c : text) ok = ok && c > ' ' && c < 0x7f;
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a key prefix such as \"/switchyard/prod\" (starts with '/', does not end with "
        "'/', no spaces), got \"",
        std::string(text), "\""));
  }
  return std::string(text);
}

// Letters, digits, '.', '_', '-' and ':' (a default id is HOST:PORT), 1 to 128 of them.
absl::StatusOr<std::string> checkInstanceId(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 128;
  for (const char c : text) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                c == '-' || c == ':');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 1 to 128 letters, digits, '.', '_', '-' or ':', got \"",
                     std::string(text), "\""));
  }
  return std::string(text);
}

}  // namespace

const TableSchema<FleetConfig>& fleetSchema() {
  static const TableSchema<FleetConfig> schema{
      .fields =
          {
              required(stringListField("etcd", &FleetConfig::etcd, checkEtcdUrl),
                       "required key is missing: the etcd client URLs, such as etcd = "
                       "[\"http://127.0.0.1:2379\"]"),
              required(parsedField("prefix", &FleetConfig::prefix, checkPrefix),
                       "required key is missing: the fleet's key prefix, such as prefix = "
                       "\"/switchyard/prod\""),
              parsedField("instance_id", &FleetConfig::instance_id, checkInstanceId),
              durationField("lease_ttl", &FleetConfig::lease_ttl, absl::Seconds(2),
                            absl::Minutes(5)),
              durationField("request_timeout", &FleetConfig::request_timeout,
                            absl::Milliseconds(100), absl::Minutes(1)),
              durationField("reconnect_interval", &FleetConfig::reconnect_interval,
                            absl::Milliseconds(50), absl::Minutes(1)),
          },
      .check =
          [](const toml::table& table, const std::string& key, FleetConfig& out, ErrorSink& sink) {
            const toml::node* etcd = table.get("etcd");
            if (etcd != nullptr && out.etcd.empty() && !sink.hasErrorAt(childKey(key, "etcd"))) {
              sink.add(positionOf(*etcd), childKey(key, "etcd"),
                       "at least one etcd URL is required");
            }
          },
  };
  return schema;
}

}  // namespace sy::routing::config
