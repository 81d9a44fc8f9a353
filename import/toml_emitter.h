#pragma once

// Writes an ImportedConfig as a commented Switchyard TOML file, sections in the order of
// conf/REFERENCE.md, each element preceded by a comment naming the nginx directive it came from.

#include <string>

#include "import/switchyard_model.h"

namespace sy::importer {

// `warning_count`: how many warnings the import printed, mentioned in the header comment.
std::string emitToml(const ImportedConfig& config, size_t warning_count);

// `text` as a TOML basic string, quotes included.
std::string tomlString(const std::string& text);

}  // namespace sy::importer
