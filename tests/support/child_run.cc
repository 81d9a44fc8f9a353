#include "tests/support/child_run.h"

#include <optional>

#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace sy::testing {

bool pythonModulePresent(const std::string& module) {
  auto check = ChildProcess::start({"/usr/bin/python3", "-c", "import " + module});
  return check.ok() && (*check)->waitExit(std::chrono::seconds(10)) == 0;
}

std::vector<std::string> runToEnd(const std::vector<std::string>& argv,
                                  std::chrono::seconds timeout) {
  auto child = ChildProcess::start(argv);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  // waitExit returns once the child's output has been read too.
  const std::optional<int> code = (*child)->waitExit(timeout);
  EXPECT_EQ(code, 0) << argv.front() << " did not end well:\n" << (*child)->output();
  return (*child)->stdoutLines();
}

std::vector<std::string> runPythonToEnd(const char* script, const std::vector<std::string>& args,
                                        std::chrono::seconds timeout) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", script};
  argv.insert(argv.end(), args.begin(), args.end());
  return runToEnd(argv, timeout);
}

}  // namespace sy::testing
