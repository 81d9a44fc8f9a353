#pragma once

#include <string>

#include "routing/config/toml_loader.h"

namespace sy::proxy {

// Where the configuration comes from: a file, or the text embedded in the binary.
struct ConfigSource {
  std::string path;           // empty: use `embedded_text`
  std::string embedded_name;  // shown in messages for the embedded text
  std::string embedded_text;

  routing::config::LoadResult load() const;
  std::string name() const { return path.empty() ? embedded_name : path; }
};

}  // namespace sy::proxy
