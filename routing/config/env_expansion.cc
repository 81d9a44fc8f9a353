#include "routing/config/env_expansion.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "routing/config/quoted.h"
#include "routing/config/toml_nodes.h"

namespace sy::routing::config {
namespace {

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool validName(std::string_view name) {
  if (name.empty() || !isNameStart(name.front())) return false;
  for (char c : name) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

void expandNode(toml::node& node, const std::string& key, ErrorSink& sink, const EnvLookup& lookup);

void expandTable(toml::table& table, const std::string& key, ErrorSink& sink,
                 const EnvLookup& lookup) {
  for (auto&& [name, value] : table) expandNode(value, childKey(key, name.str()), sink, lookup);
}

void expandNode(toml::node& node, const std::string& key, ErrorSink& sink,
                const EnvLookup& lookup) {
  if (toml::value<std::string>* text = node.as_string()) {
    // Most values hold no '$': leave them (and their exact bytes) alone.
    if (text->get().find('$') == std::string::npos) return;
    absl::StatusOr<std::string> expanded = expandEnvReferences(text->get(), lookup);
    if (!expanded.ok()) {
      sink.addFinal(positionOf(node), key, std::string(expanded.status().message()));
      return;
    }
    text->get() = *std::move(expanded);
  } else if (toml::table* table = node.as_table()) {
    expandTable(*table, key, sink, lookup);
  } else if (toml::array* array = node.as_array()) {
    for (size_t i = 0; i < array->size(); ++i) {
      expandNode((*array)[i], indexKey(key, i), sink, lookup);
    }
  }
}

}  // namespace

std::optional<std::string> processEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<std::string> expandEnvReferences(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"${\" without a closing \"}\" (write \"$${\" for a literal \"${\") in ",
                       inQuotes(text)));
    }
    const std::string name(text.substr(i + 2, close - i - 2));
    if (!validName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("${", name,
                       "} is not a variable reference: a name is letters, digits and _, not "
                       "starting with a digit (write \"$${\" for a literal \"${\")"));
    }
    std::optional<std::string> value = lookup(name);
    if (!value) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, " (referenced as ${", name, "}) is not set"));
    }
    out += *value;
    i = close;
  }
  return out;
}

void expandEnvironment(toml::table& root, ErrorSink& sink, const EnvLookup& lookup) {
  expandTable(root, "", sink, lookup);
}

}  // namespace sy::routing::config
