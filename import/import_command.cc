#include "import/import_command.h"

#include <cstdio>

#include "import/nginx_import.h"

namespace sy::importer {

const char* importUsageText() {
  return R"(usage: switchyard import nginx FILE [-p PREFIX]
  Converts the nginx configuration FILE (with its includes; relative include paths are taken
  from PREFIX, by default the directory of FILE) to a Switchyard configuration on stdout.
  Every nginx directive that was not carried over is printed on stderr as
    FILE:LINE: DIRECTIVE: unsupported|approximated|ignored: WHY
  Exit status: 0 everything carried over, 3 carried over with warnings, 1 the file could not
  be read or parsed (FILE:LINE:COLUMN: message), 2 usage error.
)";
}

int runImportCommand(const std::vector<std::string>& args) {
  std::string file;
  std::string prefix;
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(importUsageText(), stdout);
    return 0;
  }
  bool usage_error = args.empty() || args[0] != "nginx";
  for (size_t i = 1; i < args.size() && !usage_error; ++i) {
    if (args[i] == "-p" || args[i] == "--prefix") {
      if (i + 1 >= args.size()) {
        usage_error = true;
      } else {
        prefix = args[++i];
      }
    } else if (args[i] == "-h" || args[i] == "--help") {
      std::fputs(importUsageText(), stdout);
      return 0;
    } else if (file.empty() && (args[i].empty() || args[i][0] != '-')) {
      file = args[i];
    } else {
      usage_error = true;
    }
  }
  if (usage_error || file.empty()) {
    std::fprintf(stderr, "switchyard import: bad arguments\n\n%s", importUsageText());
    return 2;
  }
  const NginxImportResult result = importNginx(file, prefix);
  std::fputs(result.warnings_text.c_str(), stderr);
  if (result.status == kImportFailed) {
    std::fprintf(stderr, "%s\n", result.error.c_str());
    return result.status;
  }
  std::fputs(result.toml.c_str(), stdout);
  return result.status;
}

}  // namespace sy::importer
