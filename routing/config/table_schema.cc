#include "routing/config/table_schema.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sy::routing::config {

void reportUnknownKey(const toml::key& name, const std::string& table_key,
                      const std::vector<std::string_view>& known, ErrorSink& sink) {
  // Listing the accepted keys turns a typo ("wrokers") into an obvious fix.
  std::vector<std::string> names;
  names.reserve(known.size());
  for (const std::string_view key : known) names.emplace_back(key);
  sink.add(positionOf(name), childKey(table_key, name.str()),
           absl::StrCat("unknown key; expected one of: ", absl::StrJoin(names, ", ")));
}

}  // namespace sy::routing::config
