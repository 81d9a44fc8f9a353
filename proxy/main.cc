#include <cstdio>
#include <string>

#include "core/build_info.h"
#include "core/log.h"
#include "import/import_command.h"
#include "proxy/certificate_check.h"
#include "proxy/command_line.h"
#include "proxy/config_choice.h"
#include "proxy/control/admin_credentials.h"
#include "proxy/control/fleet_etcd_options.h"
#include "proxy/control/rollout_declarations.h"
#include "proxy/control/server.h"
#include "proxy/demo/demo_backend.h"
#include "proxy/embedded_config.h"
#include "proxy/health_probe.h"
#include "proxy/upgrade_command.h"
#include "routing/config/toml_loader.h"
#include "tls/record_buffer_cache.h"

int main(int argc, char** argv) {
  using sy::proxy::CommandLine;
  using sy::proxy::ConfigChoice;
  // Before OpenSSL allocates anything (it refuses later): TLS record buffers are recycled per
  // thread instead of going through malloc's slow path twice per record.
  sy::tls::installRecordBufferCache();
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
    case CommandLine::Mode::kHealthcheck: {
      std::vector<char*> args = command_line->backend_args;
      return sy::proxy::runHealthProbe(static_cast<int>(args.size()), args.data());
    }
    case CommandLine::Mode::kUpgrade: {
      std::vector<char*> args = command_line->backend_args;
      return sy::proxy::runUpgradeCommand(static_cast<int>(args.size()), args.data());
    }
    case CommandLine::Mode::kCheck:
    case CommandLine::Mode::kServe:
      break;
  }

  auto choice = sy::proxy::chooseConfig(command_line->config_path, sy::proxy::kEmbeddedDemoConfig,
                                        sy::routing::config::processEnvironment);
  if (!choice.ok()) {
    std::fprintf(stderr, "switchyard: %s\n", std::string(choice.status().message()).c_str());
    return 2;
  }
  const std::string name = choice->source.name();
  if (command_line->mode == CommandLine::Mode::kCheck) {
    if (choice->origin == ConfigChoice::Origin::kEmbeddedDemo) {
      std::fprintf(stderr,
                   "switchyard: --check needs a configuration: --check FILE, -c FILE, "
                   "SWITCHYARD_CONFIG or SWITCHYARD_UPSTREAM\n");
      return 2;
    }
    auto result = choice->source.load();
    sy::proxy::control::addDeclaredRolloutErrors(result);
    if (!result.ok()) {
      std::fputs(sy::routing::config::formatErrors(result.errors).c_str(), stderr);
      std::fprintf(stderr, "switchyard: %s: %zu error(s), configuration is invalid\n", name.c_str(),
                   result.errors.size());
      return 1;
    }
    if (const int failed = sy::proxy::checkCertificates(*result.config, stdout, stderr)) {
      std::fprintf(stderr, "switchyard: %s: %d listener(s) with unusable certificates\n",
                   name.c_str(), failed);
      return 1;
    }
    // As a start would: a token_env that names an unset variable fails the start, so it fails the
    // check that a unit runs before it (ExecStartPre).
    if (auto credentials = sy::proxy::control::adminCredentials(result.config->admin);
        !credentials.ok()) {
      std::fprintf(stderr, "switchyard: %s: %s\n", name.c_str(),
                   std::string(credentials.status().message()).c_str());
      return 1;
    }
    // [fleet]'s TLS files and etcd password, as a start reads them.
    if (result.config->fleet.has_value()) {
      if (auto etcd = sy::proxy::control::fleetEtcdOptions(*result.config->fleet); !etcd.ok()) {
        std::fprintf(stderr, "switchyard: %s: %s\n", name.c_str(),
                     std::string(etcd.status().message()).c_str());
        return 1;
      }
    }
    std::printf("switchyard: %s: configuration is valid\n", name.c_str());
    return 0;
  }
  if (choice->origin != ConfigChoice::Origin::kSidecarEnv &&
      sy::routing::config::processEnvironment("SWITCHYARD_UPSTREAM").has_value()) {
    // Not an error: an image may set a default file that a deployment overrides with -c.
    sy::core::logWarn("sidecar_env_ignored",
                      {{"config", name},
                       {"detail", "SWITCHYARD_UPSTREAM is set, but a configuration file wins"}});
  }
  sy::proxy::control::Server server(std::move(choice->source));
  return server.run();
}
