#pragma once

// The command line of `switchyard import nginx FILE [-p PREFIX]`: the TOML on stdout, one line
// per directive not carried over on stderr. Returns the exit status (nginx_import.h; 2 for a
// usage error).

#include <string>
#include <vector>

namespace sy::importer {

int runImportCommand(const std::vector<std::string>& args);

const char* importUsageText();

}  // namespace sy::importer
