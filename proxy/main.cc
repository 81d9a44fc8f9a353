#include <cstdio>
#include <string>

#include "import/import_command.h"
#include "proxy/command_line.h"
#include "proxy/core/build_info.h"
#include "proxy/core/log.h"
#include "proxy/demo/demo_backend.h"
#include "proxy/embedded_config.h"
#include "proxy/server.h"
#include "routing/config/toml_loader.h"

int main(int argc, char** argv) {
  using sy::proxy::CommandLine;
  std::string error;
  const auto command_line = sy::proxy::parseCommandLine(argc, argv, &error);
  if (!command_line) {
    std::fprintf(stderr, "switchyard: %s\n\n%s", error.c_str(), sy::proxy::usageText());
    return 2;
  }
  sy::core::setLogFormat(command_line->log_format);
  sy::core::setLogLevel(command_line->log_level);

  switch (command_line->mode) {
    case CommandLine::Mode::kHelp:
      std::fputs(sy::proxy::usageText(), stdout);
      return 0;
    case CommandLine::Mode::kVersion:
      std::printf("switchyard %s (%s)\n", sy::core::versionString(), sy::core::gitCommit());
      return 0;
    case CommandLine::Mode::kBackend: {
      std::vector<char*> args = command_line->backend_args;
      return sy::proxy::runDemoBackend(static_cast<int>(args.size()), args.data());
    }
    case CommandLine::Mode::kImport:
      return sy::importer::runImportCommand(command_line->import_args);
    case CommandLine::Mode::kCheck: {
      const auto result = sy::routing::config::loadConfigFile(command_line->config_path);
      if (!result.ok()) {
        std::fputs(sy::routing::config::formatErrors(result.errors).c_str(), stderr);
        std::fprintf(stderr, "switchyard: %s: %zu error(s), configuration is invalid\n",
                     command_line->config_path.c_str(), result.errors.size());
        return 1;
      }
      std::printf("switchyard: %s: configuration is valid\n", command_line->config_path.c_str());
      return 0;
    }
    case CommandLine::Mode::kServe:
      break;
  }
  sy::proxy::ConfigSource source;
  source.path = command_line->config_path;
  source.embedded_name = "<embedded conf/demo.toml>";
  source.embedded_text = sy::proxy::kEmbeddedDemoConfig;
  sy::proxy::Server server(std::move(source));
  return server.run();
}
