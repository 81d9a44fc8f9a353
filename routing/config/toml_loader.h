#pragma once

// Reads a Switchyard TOML configuration into the structs of model.h and checks it completely.
// Used by `switchyard --check -c FILE`, startup and SIGHUP reload. Every problem in the file is
// reported, not just the first, each with its position, dotted key and what was expected.
// Nothing here throws: toml++'s exceptions are turned into errors inside the loader.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/config/env_expansion.h"
#include "routing/config/model.h"

namespace sy::routing::config {

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
  bool ok() const { return errors.empty(); }
};

// Reads and checks the file at `path`. A file that cannot be read is one error without position.
// "${NAME}" in string values is looked up with `lookup` (env_expansion.h).
LoadResult loadConfigFile(const std::string& path, const EnvLookup& lookup = processEnvironment);

// Checks `text` as if read from a file called `source_name` (used in messages and Config::path).
LoadResult parseConfigText(std::string_view text, const std::string& source_name,
                           const EnvLookup& lookup = processEnvironment);

// One error per line, each ending in '\n', in the order given.
std::string formatErrors(const std::vector<ConfigError>& errors);

}  // namespace sy::routing::config
