// [[rollouts]] tables: rollouts declared in the file, with the same fields as the body of
// POST /admin/rollouts (README "Automated canary rollouts"). Each table is read as JSON, as the
// admin API receives it, so the one rollout parser (proxy/control/rollout_spec.h, a layer
// above) checks both forms the same way; its errors are placed at the key they name.

#include <optional>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "routing/config/schemas.h"

namespace sy::routing::config {
namespace {

std::optional<nlohmann::json> toJson(const toml::node& node, const std::string& key,
                                     ErrorSink& sink) {
  if (const toml::table* table = node.as_table()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto&& [name, child] : *table) {
      std::optional<nlohmann::json> value = toJson(child, childKey(key, name.str()), sink);
      if (!value) return std::nullopt;
      object[std::string(name.str())] = std::move(*value);
    }
    return object;
  }
  if (const toml::array* array = node.as_array()) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < array->size(); ++i) {
      std::optional<nlohmann::json> value = toJson((*array)[i], indexKey(key, i), sink);
      if (!value) return std::nullopt;
      list.push_back(std::move(*value));
    }
    return list;
  }
  if (const auto* text = node.as_string()) return nlohmann::json(text->get());
  if (const auto* integer = node.as_integer()) return nlohmann::json(integer->get());
  if (const auto* number = node.as_floating_point()) return nlohmann::json(number->get());
  if (const auto* flag = node.as_boolean()) return nlohmann::json(flag->get());
  sink.add(positionOf(node), key,
           absl::StrCat("expected a string, number, boolean, array or table, got ",
                        describeValue(node)));
  return std::nullopt;
}

}  // namespace

Field<Config> rolloutsField() {
  return {"rollouts",
          [](const toml::node& node, const std::string& key, Config& out, ErrorSink& sink) {
            const toml::array* array = node.as_array();
            if (array == nullptr) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected an array of tables written as [[rollouts]], got ",
                                    describeValue(node)));
              return;
            }
            for (size_t i = 0; i < array->size(); ++i) {
              const toml::node& element = (*array)[i];
              RolloutDeclarationConfig declaration;
              declaration.key = indexKey(key, i);
              declaration.position = positionOf(element);
              const toml::table* table = element.as_table();
              if (table == nullptr) {
                sink.add(positionOf(element), declaration.key,
                         absl::StrCat("expected a table, got ", describeValue(element)));
                continue;
              }
              for (auto&& [name, child] : *table) {
                declaration.key_positions[std::string(name.str())] = positionOf(child);
              }
              std::optional<nlohmann::json> spec = toJson(*table, declaration.key, sink);
              if (!spec) continue;
              declaration.spec_json = spec->dump();
              out.rollouts.push_back(std::move(declaration));
            }
          }};
}

}  // namespace sy::routing::config
