#include "routing/config/toml_loader.h"

#include <cerrno>
#include <cstdio>
#include <exception>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "routing/config/env_expansion.h"
#include "routing/config/error_sink.h"
#include "routing/config/quoted.h"
#include "routing/config/schemas.h"
#include "routing/config/toml_nodes.h"

namespace sy::routing::config {
namespace {

// Reads the whole file; on failure returns false and sets `why` (strerror text).
bool readWholeFile(const std::string& path, std::string& out, std::string& why) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    why = std::error_code(errno, std::generic_category()).message();
    return false;
  }
  char buffer[16 * 1024];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.append(buffer, n);
  // Reading a directory opens fine and fails here, with EISDIR.
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    why = std::error_code(error, std::generic_category()).message();
    return false;
  }
  return true;
}

LoadResult finish(ErrorSink& sink, Config config) {
  LoadResult result;
  result.errors = sink.takeSorted();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace

LoadResult parseConfigText(std::string_view text, const std::string& source_name,
                           const EnvLookup& lookup) {
  ErrorSink sink(source_name);
  Config config;
  config.path = source_name;
  // toml++ reports syntax errors by throwing; nothing thrown may reach the caller, which may be
  // a running proxy handling SIGHUP.
  try {
    toml::table root = toml::parse(text, std::string_view(source_name));
    expandEnvironment(root, sink, lookup);
    readTable(root, "", 0, configSchema(), config, sink);
  } catch (const toml::parse_error& error) {
    // toml++ shows the character it did not expect as is, a line break included.
    sink.add(positionOf(error.source()), "", escapeControls(error.description()));
  } catch (const std::exception& error) {
    sink.add(
        {}, "",
        absl::StrCat("unexpected error while reading the file: ", escapeControls(error.what())));
  } catch (...) {
    sink.add({}, "", "unexpected error while reading the file");
  }
  return finish(sink, std::move(config));
}

LoadResult loadConfigFile(const std::string& path, const EnvLookup& lookup) {
  std::string text;
  std::string why;
  if (!readWholeFile(path, text, why)) {
    ErrorSink sink(path);
    sink.add({}, "", absl::StrCat("cannot read the configuration file: ", why));
    return finish(sink, Config());
  }
  return parseConfigText(text, path, lookup);
}

}  // namespace sy::routing::config
