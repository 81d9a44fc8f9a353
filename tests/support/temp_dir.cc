#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace sy::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = (base != nullptr && *base != '\0') ? base : "/tmp";
  pattern += "/switchyard-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("TempDir: mkdtemp(" + pattern + "): " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(std::string_view name) const {
  return (std::filesystem::path(path_) / name).string();
}

std::string TempDir::writeFile(std::string_view name, std::string_view text) const {
  const std::filesystem::path full = std::filesystem::path(path_) / name;
  std::error_code error;
  std::filesystem::create_directories(full.parent_path(), error);
  if (error) {
    throw std::runtime_error("TempDir: cannot create " + full.parent_path().string() + ": " +
                             error.message());
  }
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw std::runtime_error("TempDir: cannot write " + full.string());
  return full.string();
}

}  // namespace sy::testing
