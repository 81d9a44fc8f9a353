#pragma once

// `switchyard import nginx`: an nginx reverse-proxy configuration -> a Switchyard TOML file and
// the list of what did not carry over.

#include <string>
#include <vector>

#include "import/import_warnings.h"

namespace sy::importer {

// Exit statuses of the command.
constexpr int kImportClean = 0;         // everything carried over
constexpr int kImportFailed = 1;        // a syntax error, or nothing to import
constexpr int kImportWithWarnings = 3;  // carried over, with warnings

struct NginxImportResult {
  int status = kImportFailed;
  std::string toml;   // the configuration, when status is not kImportFailed
  std::string error;  // "file:line:col: message" when status is kImportFailed
  std::vector<ImportWarning> warnings;
  std::string warnings_text;  // one line per warning
};

// `prefix` empty: relative includes are taken from the directory of `path`.
NginxImportResult importNginx(const std::string& path, const std::string& prefix);

}  // namespace sy::importer
