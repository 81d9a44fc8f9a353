#include "proxy/command_line.h"

#include <string_view>

namespace sy::proxy {

const char* usageText() {
  return R"(usage:
  switchyard [-c FILE] [--log-format json|text] [--log-level debug|info|warn|error]
      Runs the proxy with the configuration of, first match wins: -c FILE; the file named by
      $SWITCHYARD_CONFIG; sidecar mode, no file, when $SWITCHYARD_UPSTREAM is set (see
      conf/REFERENCE.md, "Environment variables"); the embedded demo configuration
      (conf/demo.toml: 127.0.0.1:8080 -> pool blue on 127.0.0.1:8081 and :8082).
      "${NAME}" in a string value of the file is replaced by environment variable NAME.
  switchyard --check [-c] FILE
      Validates FILE (or the configuration chosen as above, without FILE) and exits 0 if it is
      valid, 1 with every error otherwise.
  switchyard backend --name NAME --listen HOST:PORT [options]
      Runs the built-in demo backend (see `switchyard backend --help`).
  switchyard import nginx FILE [-p PREFIX] > switchyard.toml
      Converts an nginx configuration; what did not carry over is listed on stderr
      (see `switchyard import --help`).
  switchyard healthcheck [HOST:PORT] [/PATH]
      GET /PATH (default /healthz) from the admin API at HOST:PORT (default $SWITCHYARD_ADMIN,
      else 127.0.0.1:9901): exit 0 on a 200 within 2s, 1 otherwise. For container HEALTHCHECKs.
  switchyard upgrade [HOST:PORT] [--binary PATH]
      Hot binary upgrade of the proxy whose admin API is at HOST:PORT (default as for
      healthcheck; token from $SWITCHYARD_ADMIN_TOKEN): starts PATH (default: the running
      binary's file) with the same arguments, hands it the listening sockets and the runtime
      state; once it is ready the old process drains and exits. Exit 0 when the new process
      took over, 1 when it could not (the old one keeps serving; the reason is printed).
  switchyard --version | --help

signals: SIGHUP reloads the configuration file (an invalid file is refused and the running
configuration kept); SIGUSR2 starts a hot binary upgrade, as `switchyard upgrade` (the outcome is
logged); SIGTERM or SIGINT drain in-flight requests and exit.
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
  if (argc >= 2 && std::string_view(argv[1]) == "upgrade") {
    cl.mode = CommandLine::Mode::kUpgrade;
    for (int i = 2; i < argc; ++i) cl.backend_args.push_back(argv[i]);
    return cl;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "healthcheck") {
    cl.mode = CommandLine::Mode::kHealthcheck;
    for (int i = 2; i < argc; ++i) cl.backend_args.push_back(argv[i]);
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
      // `--check FILE` as well as `--check -c FILE`.
      if (i + 1 < argc && argv[i + 1][0] != '-') cl.config_path = argv[++i];
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
  return cl;
}

}  // namespace sy::proxy
