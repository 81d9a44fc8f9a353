#include "proxy/command_line.h"

#include <string_view>

namespace sy::proxy {

const char* usageText() {
  return R"(usage:
  switchyard [-c FILE] [--log-format json|text] [--log-level debug|info|warn|error]
      Runs the proxy. Without -c it runs the embedded default configuration
      (conf/demo.toml: 127.0.0.1:8080 -> pool blue on 127.0.0.1:8081 and :8082).
  switchyard --check -c FILE
      Validates FILE and exits 0 if it is valid, 1 with every error otherwise.
  switchyard backend --name NAME --listen HOST:PORT [options]
      Runs the built-in demo backend (see `switchyard backend --help`).
  switchyard import nginx FILE [-p PREFIX] > switchyard.toml
      Converts an nginx configuration; what did not carry over is listed on stderr
      (see `switchyard import --help`).
  switchyard --version | --help

signals: SIGHUP reloads the configuration file (an invalid file is refused and the running
configuration kept); SIGTERM or SIGINT drain in-flight requests and exit.
)";
}

std::optional<CommandLine> parseCommandLine(int argc, char** argv, std::string* error) {
  CommandLine cl;
  if (argc >= 2 && std::string_view(argv[1]) == "backend") {
    cl.mode = CommandLine::Mode::kBackend;
    for (int i = 2; i < argc; ++i) cl.backend_args.push_back(argv[i]);
    return cl;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "import") {
    cl.mode = CommandLine::Mode::kImport;
    for (int i = 2; i < argc; ++i) cl.import_args.emplace_back(argv[i]);
    return cl;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (i + 1 >= argc) {
        *error = std::string(flag) + " needs a value";
        return std::nullopt;
      }
      return std::string_view(argv[++i]);
    };
    if (arg == "-c" || arg == "--config") {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.config_path = std::string(*v);
    } else if (arg == "--check" || arg == "-t") {
      cl.mode = CommandLine::Mode::kCheck;
    } else if (arg == "--log-format") {
      auto v = value(arg);
      if (!v) return std::nullopt;
      if (!core::parseLogFormat(*v, &cl.log_format)) {
        *error = "--log-format must be json or text";
        return std::nullopt;
      }
    } else if (arg == "--log-level") {
      auto v = value(arg);
      if (!v) return std::nullopt;
      if (!core::parseLogLevel(*v, &cl.log_level)) {
        *error = "--log-level must be debug, info, warn or error";
        return std::nullopt;
      }
    } else if (arg == "-h" || arg == "--help") {
      cl.mode = CommandLine::Mode::kHelp;
    } else if (arg == "-v" || arg == "--version") {
      cl.mode = CommandLine::Mode::kVersion;
    } else {
      *error = "unknown argument: " + std::string(arg);
      return std::nullopt;
    }
  }
  if (cl.mode == CommandLine::Mode::kCheck && cl.config_path.empty()) {
    *error = "--check needs -c FILE";
    return std::nullopt;
  }
  return cl;
}

}  // namespace sy::proxy
