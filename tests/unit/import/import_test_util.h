#pragma once

// Runs the nginx import on a configuration text and loads what it wrote with Switchyard's own
// configuration loader, so that every mapping test also checks that the output is valid.

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "import/nginx_import.h"
#include "routing/config/toml_loader.h"
#include "tests/support/temp_dir.h"

namespace sy::importer {

struct ImportedText {
  NginxImportResult result;
  std::optional<routing::config::Config> config;  // set when the TOML is valid
  std::string load_errors;

  // Whether a warning of `kind` is on `line` and its reason contains `part`.
  bool warned(int line, WarningKind kind, std::string_view part) const {
    for (const ImportWarning& warning : result.warnings) {
      if (warning.position.line == line && warning.kind == kind &&
          warning.reason.find(part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  const routing::config::RouteConfig* route(std::string_view name) const {
    for (const auto& route : config->routes) {
      if (route.name == name) return &route;
    }
    return nullptr;
  }
  const routing::config::PoolConfig* pool(std::string_view name) const {
    for (const auto& pool : config->pools) {
      if (pool.name == name) return &pool;
    }
    return nullptr;
  }
};

inline ImportedText importText(const std::string& nginx_text) {
  sy::testing::TempDir dir;
  const std::string path = dir.writeFile("nginx.conf", nginx_text);
  ImportedText imported;
  imported.result = importNginx(path, "");
  if (imported.result.status == kImportFailed) return imported;
  routing::config::LoadResult loaded =
      routing::config::parseConfigText(imported.result.toml, "imported.toml");
  imported.config = loaded.config;
  imported.load_errors = routing::config::formatErrors(loaded.errors);
  return imported;
}

// For ASSERT_TRUE: the import worked and its output loads.
#define SY_ASSERT_IMPORTED(imported)                                             \
  ASSERT_NE((imported).result.status, kImportFailed) << (imported).result.error; \
  ASSERT_TRUE((imported).config.has_value()) << (imported).load_errors << "\n"   \
                                             << (imported).result.toml

}  // namespace sy::importer
