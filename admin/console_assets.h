#pragma once

#include <string_view>

namespace sy::admin {

// A file of the console (admin/console/), embedded in the binary at build time
// (admin/console/embed.cmake writes the definitions).
struct ConsoleAsset {
  std::string_view content;
  std::string_view content_type;
};

// The file `name` ("index.html", "console.js", "console.css"); empty content when unknown.
ConsoleAsset consoleAsset(std::string_view name);

}  // namespace sy::admin
