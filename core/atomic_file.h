#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sy::core {

// Replaces `path` with `contents` so that readers (and a crash) see either the old file or the
// new one, never a mix: a temporary file in the same directory, fsync, rename.
absl::Status writeFileAtomically(const std::string& path, std::string_view contents);

}  // namespace sy::core
