#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

// Token names are what the event log and the change history say; two tokens of one name, or a
// named token called "admin" next to the single `token` (which is recorded as "admin"), would
// make them ambiguous. Two tokens with one literal secret would make the name a guess.
void checkTokenNames(const toml::table& table, const std::string& key, const AdminConfig& out,
                     ErrorSink& sink) {
  const toml::array* tokens = table["tokens"].as_array();
  if (tokens == nullptr) return;
  const bool single = !out.token.empty() || !out.token_env.empty();
  for (size_t i = 0; i < out.tokens.size() && i < tokens->size(); ++i) {
    const AdminTokenConfig& token = out.tokens[i];
    const toml::table* element = (*tokens)[i].as_table();
    if (element == nullptr || token.name.empty()) continue;
    const std::string element_key = indexKey(childKey(key, "tokens"), i);
    const toml::node* name = element->get("name");
    if (single && token.name == "admin") {
      sink.add(positionOf(*name), childKey(element_key, "name"),
               "\"admin\" is the name the single admin.token is recorded under: pick another "
               "name, or move that token into [[admin.tokens]]");
    }
    if (!token.token.empty() && token.token == out.token) {
      sink.add(positionOf(*element->get("token")), childKey(element_key, "token"),
               "the same secret as admin.token: each token needs its own, or its name means "
               "nothing");
    }
    for (size_t j = 0; j < i; ++j) {
      if (out.tokens[j].name == token.name) {
        sink.add(positionOf(*name), childKey(element_key, "name"),
                 absl::StrCat("duplicate token name \"", token.name, "\" (also tokens[", j, "])"));
        break;
      }
      if (!token.token.empty() && out.tokens[j].token == token.token) {
        sink.add(positionOf(*element->get("token")), childKey(element_key, "token"),
                 absl::StrCat("the same secret as tokens[", j,
                              "]: each token needs its own, or its name means nothing"));
        break;
      }
    }
  }
}

}  // namespace

const TableSchema<ServerConfig>& serverSchema() {
  static const TableSchema<ServerConfig> schema{
      .fields = {
          integerField("workers", &ServerConfig::workers, 0, 256),
          durationField("shutdown_timeout", &ServerConfig::shutdown_timeout, absl::ZeroDuration(),
                        absl::Hours(1)),
          stringField("state_file", &ServerConfig::state_file),
          durationField("switch_drain_delay", &ServerConfig::switch_drain_delay,
                        absl::ZeroDuration(), absl::Hours(1)),
          durationField("accept_grace", &ServerConfig::accept_grace, absl::ZeroDuration(),
                        absl::Minutes(10)),
          stringListField("dns_servers", &ServerConfig::dns_servers, normalizeDnsServer),
      }};
  return schema;
}

namespace {

const TableSchema<AdminTokenConfig>& adminTokenSchema() {
  using T = AdminTokenConfig;
  static const TableSchema<T> schema{
      .fields =
          {
              required(parsedField("name", &T::name, checkName)),
              stringField("token", &T::token),
              parsedField("token_env", &T::token_env, checkEnvName),
              required(choiceField("role", &T::role,
                                   {{"read", AdminRole::kRead}, {"operate", AdminRole::kOperate}}),
                       "required: \"read\" (GET calls only) or \"operate\" (every call)"),
          },
      .check =
          [](const toml::table& table, const std::string& key, T& out, ErrorSink& sink) {
            const bool has_token = table.contains("token");
            const bool has_env = table.contains("token_env");
            if (has_token && has_env) {
              sink.add(positionOf(*table.get("token_env")), childKey(key, "token_env"),
                       "set token or token_env, not both");
            } else if (!has_token && !has_env) {
              sink.add(positionOf(table), key, "a token needs token or token_env");
            } else if (has_token && out.token.empty()) {
              sink.add(positionOf(*table.get("token")), childKey(key, "token"),
                       "an empty token would admit everyone: use a long random string");
            }
          },
  };
  return schema;
}

}  // namespace

namespace {

// A name of admin.allowed_hosts: a DNS name without port or scheme (compared with the Host
// header's name, case-insensitively), or "*".
absl::StatusOr<std::string> checkAllowedHost(std::string_view text) {
  if (text == "*") return std::string(text);
  if (text.empty() || text.size() > 253) return absl::InvalidArgumentError("expected a host name");
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(text),
                       "\" is not a host name (letters, digits, '-', '.'; no port, no scheme)"));
    }
  }
  return absl::AsciiStrToLower(std::string(text));
}

}  // namespace

const TableSchema<AdminConfig>& adminSchema() {
  static const TableSchema<AdminConfig> schema{
      .fields =
          {
              addressField("listen", &AdminConfig::listen_text, &AdminConfig::listen,
                           PortZero::kAllowed),
              stringField("token", &AdminConfig::token),
              parsedField("token_env", &AdminConfig::token_env, checkEnvName),
              integerField("max_connections", &AdminConfig::max_connections, 1, 10000),
              durationField("request_timeout", &AdminConfig::request_timeout,
                            absl::Milliseconds(100), absl::Hours(1)),
              durationField("idle_timeout", &AdminConfig::idle_timeout, absl::Milliseconds(100),
                            absl::Hours(1)),
              tableField("tls", &AdminConfig::tls, adminTlsSchema),
              tableArrayField("tokens", &AdminConfig::tokens, adminTokenSchema, "[[admin.tokens]]"),
              addressField("probes_listen", &AdminConfig::probes_listen_text,
                           &AdminConfig::probes_listen, PortZero::kAllowed),
              stringListField("allowed_hosts", &AdminConfig::allowed_hosts, checkAllowedHost),
          },
      .check =
          [](const toml::table& table, const std::string& key, AdminConfig& out, ErrorSink& sink) {
            // Two ways to name one secret would leave one of them silently unused.
            if (table.contains("token") && table.contains("token_env")) {
              sink.add(positionOf(*table.get("token_env")), childKey(key, "token_env"),
                       "set token or token_env, not both");
            }
            checkTokenNames(table, key, out, sink);
            // The admin API can switch traffic and drain backends: anyone who can reach it
            // controls the proxy, so beyond loopback it must ask for a token or a client
            // certificate.
            const toml::node* listen = table.get("listen");
            const std::string listen_key = childKey(key, "listen");
            if (listen == nullptr || out.listen.isLoopback() || sink.hasErrorAt(listen_key) ||
                sink.hasErrorAt(childKey(key, "token_env"))) {
              return;
            }
            const bool client_certificates = out.tls.has_value() && !out.tls->client_ca.empty();
            if (out.token.empty() && out.token_env.empty() && out.tokens.empty() &&
                !client_certificates) {
              sink.add(positionOf(*listen), listen_key,
                       "binding the admin API to a non-loopback address requires token, "
                       "token_env, tokens or tls.client_ca");
            }
          },
  };
  return schema;
}

namespace {

// [access_log] fields: known keys, each at most once, at least one.
void readAccessLogFields(const toml::node& node, const std::string& key, AccessLogConfig& out,
                         ErrorSink& sink) {
  const toml::array* array = node.as_array();
  if (array == nullptr || array->empty()) {
    sink.add(positionOf(node), key, "expected a non-empty array of field names");
    return;
  }
  std::vector<AccessLogField> fields;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string element_key = absl::StrCat(key, "[", i, "]");
    std::optional<std::string> name = readString((*array)[i], element_key, sink);
    if (!name) {
      ok = false;
      continue;
    }
    std::optional<AccessLogField> field = accessLogFieldByName(*name);
    if (!field) {
      std::vector<std::string> known;
      for (std::string_view known_name : accessLogFieldNames())
        known.push_back(inQuotes(known_name));
      sink.add(
          positionOf((*array)[i]), element_key,
          absl::StrCat("expected one of ", absl::StrJoin(known, ", "), ", got ", inQuotes(*name)));
      ok = false;
      continue;
    }
    if (std::find(fields.begin(), fields.end(), *field) != fields.end()) {
      sink.add(positionOf((*array)[i]), element_key,
               absl::StrCat("field ", inQuotes(*name), " is listed twice"));
      ok = false;
      continue;
    }
    fields.push_back(*field);
  }
  if (ok) out.fields = std::move(fields);
}

}  // namespace

const TableSchema<AccessLogConfig>& accessLogSchema() {
  using A = AccessLogConfig;
  static const TableSchema<A> schema{
      .fields =
          {
              parsedField("path", &A::path, checkLogPath),
              durationField("flush_interval", &A::flush_interval, absl::Milliseconds(10),
                            absl::Minutes(1)),
              integerField("buffer_bytes", &A::buffer_bytes, 1024, 16 * 1024 * 1024),
              Field<A>{"fields", readAccessLogFields},
          },
  };
  return schema;
}

}  // namespace sy::routing::config
