#include "routing/config/toml_nodes.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::routing::config {
namespace {

bool isBareKey(std::string_view key) {
  if (key.empty()) return false;
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// toml++ prints scalars in TOML syntax, which is what the user typed (1.0 stays "1.0").
std::string tomlText(const toml::node& node) {
  std::ostringstream out;
  node.visit([&out](const auto& value) {
    if constexpr (!toml::is_table<decltype(value)> && !toml::is_array<decltype(value)>) {
      out << value;
    }
  });
  return out.str();
}

}  // namespace

SourcePosition positionOf(const toml::source_region& region) {
  return SourcePosition{static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string childKey(std::string_view parent, std::string_view key) {
  std::string name = isBareKey(key) ? std::string(key) : inQuotes(key);
  if (parent.empty()) return name;
  return absl::StrCat(core::toAbsl(parent), ".", name);
}

std::string indexKey(std::string_view parent, size_t index) {
  return absl::StrCat(core::toAbsl(parent), "[", index, "]");
}

std::string describeValue(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return absl::StrCat("string ", inQuotes(*node.value<std::string_view>()));
    case toml::node_type::integer:
      return absl::StrCat("integer ", tomlText(node));
    case toml::node_type::floating_point:
      return absl::StrCat("float ", tomlText(node));
    case toml::node_type::boolean:
      return absl::StrCat("boolean ", tomlText(node));
    case toml::node_type::date:
      return absl::StrCat("date ", tomlText(node));
    case toml::node_type::time:
      return absl::StrCat("time ", tomlText(node));
    case toml::node_type::date_time:
      return absl::StrCat("date-time ", tomlText(node));
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

}  // namespace sy::routing::config
