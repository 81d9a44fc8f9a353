// [fleet]: etcd endpoints, key prefix and this instance's name (conf/REFERENCE.md, "[fleet]").

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/net_address.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

// "http://HOST:PORT" with nothing after the port: the etcd JSON gateway's base URL.
absl::StatusOr<std::string> checkEtcdUrl(std::string_view text) {
  const std::string url(text);
  const bool tls = absl::StartsWith(url, "https://");
  if (!tls && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an etcd client URL such as \"http://127.0.0.1:2379\" or "
                     "\"https://etcd-1.example:2379\", got \"",
                     url, "\""));
  }
  const std::string scheme = tls ? "https://" : "http://";
  std::string host_port = url.substr(scheme.size());
  if (!host_port.empty() && host_port.back() == '/') host_port.pop_back();
  if (host_port.empty() || host_port.find('/') != std::string::npos ||
      host_port.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected \"http://HOST:PORT\" or \"https://HOST:PORT\" (no path), such as "
                     "\"http://127.0.0.1:2379\", got \"",
                     url, "\""));
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
  return absl::StrCat(scheme, host_port);
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

absl::StatusOr<std::string> checkFleetFile(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("expected a file path, got an empty string");
  return std::string(text);
}

// The name etcd's certificate must carry: a DNS name (letters, digits, '-', '.').
absl::StatusOr<std::string> checkServerName(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 253;
  for (const char c : text) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected the DNS name in etcd's certificate, such as \"etcd.internal\", got \"",
        std::string(text), "\""));
  }
  return absl::AsciiStrToLower(std::string(text));
}

absl::StatusOr<std::string> checkUsername(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("expected an etcd user name, got nothing");
  return std::string(text);
}

// The TLS and auth keys in pairs, and only where they are used: a key that would be silently
// unused is an error.
void checkFleetSecurity(const toml::table& table, const std::string& key, const FleetConfig& out,
                        ErrorSink& sink) {
  auto at = [&](const char* name) { return positionOf(*table.get(name)); };
  const bool cert = table.contains("cert_file");
  const bool private_key = table.contains("key_file");
  if (cert != private_key) {
    const char* missing = cert ? "key_file" : "cert_file";
    const char* present = cert ? "cert_file" : "key_file";
    sink.add(at(present), childKey(key, missing),
             "cert_file and key_file go together: a client certificate needs both");
  }
  bool any_https = false;
  for (const std::string& url : out.etcd)
    any_https = any_https || absl::StartsWith(url, "https://");
  if (!any_https && !sink.hasErrorAt(childKey(key, "etcd"))) {
    for (const char* name : {"ca_file", "cert_file", "key_file", "server_name"}) {
      if (!table.contains(name)) continue;
      sink.add(at(name), childKey(key, name),
               absl::StrCat(name,
                            " is for TLS to etcd, but no etcd URL is https://: use https:// URLs "
                            "or remove it"));
    }
  }
  const bool user = table.contains("username");
  const bool password = table.contains("password_env");
  if (user && !password) {
    sink.add(at("username"), childKey(key, "password_env"),
             "username needs password_env: the environment variable holding its password");
  } else if (password && !user) {
    sink.add(at("password_env"), childKey(key, "username"),
             "password_env needs username: the etcd user the password is for");
  }
  if (table.contains("password")) {
    sink.add(at("password"), childKey(key, "password"),
             "the etcd password is not read from the file: put it in an environment variable "
             "and name it with password_env");
  }
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
              parsedField("ca_file", &FleetConfig::ca_file, checkFleetFile),
              parsedField("cert_file", &FleetConfig::cert_file, checkFleetFile),
              parsedField("key_file", &FleetConfig::key_file, checkFleetFile),
              parsedField("server_name", &FleetConfig::server_name, checkServerName),
              parsedField("username", &FleetConfig::username, checkUsername),
              parsedField("password_env", &FleetConfig::password_env, checkEnvName),
          },
      .check =
          [](const toml::table& table, const std::string& key, FleetConfig& out, ErrorSink& sink) {
            const toml::node* etcd = table.get("etcd");
            if (etcd != nullptr && out.etcd.empty() && !sink.hasErrorAt(childKey(key, "etcd"))) {
              sink.add(positionOf(*etcd), childKey(key, "etcd"),
                       "at least one etcd URL is required");
            }
            checkFleetSecurity(table, key, out, sink);
          },
  };
  return schema;
}

}  // namespace sy::routing::config
