#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/log.h"

namespace sy::proxy {

struct CommandLine {
  enum class Mode { kServe, kCheck, kBackend, kImport, kHealthcheck, kUpgrade, kHelp, kVersion };
  Mode mode = Mode::kServe;
  std::string config_path;  // empty: chosen by the environment (proxy/config_choice.h)
  core::LogFormat log_format = core::LogFormat::kJson;
  core::LogLevel log_level = core::LogLevel::kInfo;
  std::vector<char*> backend_args;       // after "backend", "healthcheck" or "upgrade"
  std::vector<std::string> import_args;  // after "import"
};

// Parses argv. On a usage error returns nullopt and sets *error.
std::optional<CommandLine> parseCommandLine(int argc, char** argv, std::string* error);

const char* usageText();

}  // namespace sy::proxy
