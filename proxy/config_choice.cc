#include "proxy/config_choice.h"

#include <optional>
#include <sstream>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "toml++/toml.h"

namespace sy::proxy {
namespace {

using routing::config::EnvLookup;

// Set and not empty: an empty variable (SWITCHYARD_CONFIG= in a pod spec) counts as unset, so
// that an image's default can be switched off.
std::optional<std::string> nonEmpty(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> value = env(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

// The generated text goes through the same loader as a file, which expands "${NAME}": a literal
// '$' in a variable's value must stay one.
std::string literal(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

}  // namespace

std::string sidecarConfigToml(const EnvLookup& env) {
  toml::array backends;
  const std::string upstream = env("SWITCHYARD_UPSTREAM").value_or("");
  for (absl::string_view part : absl::StrSplit(upstream, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) backends.push_back(literal(std::string_view(part.data(), part.size())));
  }
  toml::table admin{
      {"listen", literal(nonEmpty(env, "SWITCHYARD_ADMIN").value_or("127.0.0.1:9901"))}};
  if (nonEmpty(env, "SWITCHYARD_ADMIN_TOKEN")) admin.insert("token_env", "SWITCHYARD_ADMIN_TOKEN");
  toml::table root{
      {"admin", std::move(admin)},
      {"listeners",
       toml::array{toml::table{
           {"name", "http"},
           {"listen", literal(nonEmpty(env, "SWITCHYARD_LISTEN").value_or("0.0.0.0:8080"))}}}},
      {"pools", toml::array{toml::table{{"name", "app"}, {"backends", std::move(backends)}}}},
      {"routes", toml::array{toml::table{{"name", "default"}, {"pool", "app"}}}},
  };
  if (std::optional<std::string> timeout = nonEmpty(env, "SWITCHYARD_SHUTDOWN_TIMEOUT")) {
    root.insert("server", toml::table{{"shutdown_timeout", literal(*timeout)}});
  }
  if (std::optional<std::string> path = nonEmpty(env, "SWITCHYARD_ACCESS_LOG")) {
    root.insert("access_log", toml::table{{"path", literal(*path)}});
  }
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

absl::StatusOr<ConfigChoice> chooseConfig(const std::string& command_line_path,
                                          const std::string& embedded_demo_text,
                                          const EnvLookup& env) {
  ConfigChoice choice;
  if (!command_line_path.empty()) {
    choice.origin = ConfigChoice::Origin::kCommandLine;
    choice.source.path = command_line_path;
    return choice;
  }
  if (std::optional<std::string> path = nonEmpty(env, "SWITCHYARD_CONFIG")) {
    choice.origin = ConfigChoice::Origin::kConfigEnv;
    choice.source.path = *path;
    return choice;
  }
  if (env("SWITCHYARD_UPSTREAM").has_value()) {
    if (!nonEmpty(env, "SWITCHYARD_UPSTREAM")) {
      return absl::InvalidArgumentError(
          "SWITCHYARD_UPSTREAM is set but empty: give the application's address, e.g. "
          "SWITCHYARD_UPSTREAM=127.0.0.1:3000");
    }
    choice.origin = ConfigChoice::Origin::kSidecarEnv;
    choice.source.embedded_name = "<SWITCHYARD_* environment>";
    choice.source.embedded_text = sidecarConfigToml(env);
    return choice;
  }
  choice.origin = ConfigChoice::Origin::kEmbeddedDemo;
  choice.source.embedded_name = "<embedded conf/demo.toml>";
  choice.source.embedded_text = embedded_demo_text;
  return choice;
}

}  // namespace sy::proxy
