#pragma once

#include <string>
#include <string_view>

namespace sy::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at destruction.
// Throws std::runtime_error when it cannot be created (gtest reports it as a test failure).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`, without creating anything.
  std::string file(std::string_view name) const;
  // Writes `text` to `path()/name` (creating parent directories) and returns the full path.
  // Throws std::runtime_error on failure.
  std::string writeFile(std::string_view name, std::string_view text) const;

 private:
  std::string path_;
};

}  // namespace sy::testing
