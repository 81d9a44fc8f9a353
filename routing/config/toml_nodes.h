#pragma once

// Small helpers over toml++ nodes shared by the readers: positions, key paths and how a value is
// shown in an error message.

#include <cstddef>
#include <string>
#include <string_view>

#include "routing/config/model.h"
#include "routing/config/quoted.h"
#include "toml++/toml.h"

namespace sy::routing::config {

SourcePosition positionOf(const toml::source_region& region);
inline SourcePosition positionOf(const toml::node& node) { return positionOf(node.source()); }
inline SourcePosition positionOf(const toml::key& key) { return positionOf(key.source()); }

// "pools[0]" + "name" -> "pools[0].name"; a key that is not a bare TOML key is quoted.
std::string childKey(std::string_view parent, std::string_view key);
// "pools" + 2 -> "pools[2]".
std::string indexKey(std::string_view parent, size_t index);

// What the reader found instead of what it expected: "integer 5", "string \"5s\"", "a table".
std::string describeValue(const toml::node& node);

}  // namespace sy::routing::config
