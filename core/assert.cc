#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

#include "core/log.h"

namespace sy::core {

void checkFailed(const char* file, int line, const char* condition, const char* message) {
  // The event log first (where operators look), then a plain line in case the log itself is
  // what broke.
  logError("check_failed",
           {{"file", file}, {"line", line}, {"condition", condition}, {"message", message}});
  std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", file, line, condition, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace sy::core
