#pragma once

// Short-lived helper programs a test runs to their end: clients written in Python (python3-h2
// for HTTP/2 frames by hand), curl, nghttp.

#include <chrono>
#include <string>
#include <vector>

namespace sy::testing {

// Whether /usr/bin/python3 can import `module` (e.g. "h2"): the tests that need it skip
// without it rather than fail on a machine that lacks the Debian package.
bool pythonModulePresent(const std::string& module);

// Runs `argv` to its end, at most `timeout`; its stdout lines. A failed start, no exit in time
// or a non-zero exit fails the calling test, with the child's output.
std::vector<std::string> runToEnd(const std::vector<std::string>& argv,
                                  std::chrono::seconds timeout = std::chrono::seconds(30));

// runToEnd of `/usr/bin/python3 -c script args...`.
std::vector<std::string> runPythonToEnd(const char* script, const std::vector<std::string>& args,
                                        std::chrono::seconds timeout);

}  // namespace sy::testing
