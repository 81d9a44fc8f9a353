#pragma once

namespace sy::core {

// The release and the commit this binary was built from. Defined in a file generated at
// configure time, so that a new commit recompiles that one file only.
const char* versionString();
const char* gitCommit();

}  // namespace sy::core
