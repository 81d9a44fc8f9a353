#pragma once

// Child processes for integration tests: the switchyard binary, demo backends, other servers.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sy::testing {

// A running child process whose stdout and stderr are captured line by line (on a reader
// thread) for the test to wait on.
//
// The child gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG), so a crashed
// or killed test binary leaves no servers behind: start children from the test's own thread.
// The destructor kills (SIGKILL) and reaps a child that is still running.
class ChildProcess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Runs argv[0] (searched in PATH when it has no '/') with `argv`, the test's environment plus
  // `extra_env` (which overrides), stdin from /dev/null. Set SY_TEST_ECHO_CHILD=1 to copy the
  // child's output to the test's stderr as it arrives.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> start(std::vector<std::string> argv,
                                                             const Env& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The first captured line (stdout or stderr, in arrival order, from index `from_line` on) for
  // which `predicate` is true; waits up to `timeout` for it. Returns nullopt on timeout, or as
  // soon as the child closed both streams without printing such a line.
  std::optional<std::string> waitForLine(const std::function<bool(const std::string&)>& predicate,
                                         std::chrono::milliseconds timeout, size_t from_line = 0);
  // Snapshots of the lines captured so far (without the newline).
  std::vector<std::string> lines() const;
  std::vector<std::string> stdoutLines() const;
  std::vector<std::string> stderrLines() const;
  // Everything captured, one line each, for failure messages.
  std::string output() const;

  // Sends `signum`; false once the child is reaped.
  bool signal(int signum);
  // SIGSTOP, then waits up to `timeout` until every thread of the child is stopped: kill()
  // returns before a thread busy in the kernel (a page fault on a loaded machine) takes the
  // stop, and a test that relies on the child doing nothing must not start before then.
  bool stopAndWait(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the child to exit: its exit code, or 128 + signal number when a
  // signal ended it. Returns the cached result once reaped. Once it returns an exit, what the
  // child wrote has been read (it waits up to 2 s more for the reader to reach the end of the
  // pipes, which a grandchild may keep open).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  bool running();
  // Resident memory from /proc/PID/status (VmRSS), in KiB; -1 when unavailable.
  long rssKiB() const;

 private:
  struct Line {
    bool from_stderr;
    std::string text;
  };

  ChildProcess() = default;
  void readLoop();
  void addLine(bool from_stderr, std::string text);
  // After the exit: until the reader has taken the child's last output, or 2 s.
  void waitForOutputAfterExit();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_read_fd_ = -1;  // closing the write end stops the reader thread
  int wake_write_fd_ = -1;
  bool echo_ = false;
  std::thread reader_;
  std::optional<int> exit_code_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Line> lines_;
  bool streams_closed_ = false;
};

// Parses one event-log line; nullopt unless it is a JSON object.
std::optional<nlohmann::json> parseJsonLogLine(std::string_view line);

// Waits for the first JSON log line (from line `from_line` on) whose "event" is `event`.
std::optional<nlohmann::json> waitForLogEvent(ChildProcess& process, std::string_view event,
                                              std::chrono::milliseconds timeout,
                                              size_t from_line = 0);

// Whether process `pid` is gone or a zombie: for processes that are not the test's children
// (a hot upgrade's new process), which it cannot wait for.
bool processGone(pid_t pid);

// The switchyard binary under test (SY_BINARY_PATH).
std::string switchyardBinary();

struct DemoBackendProcess {
  std::unique_ptr<ChildProcess> process;
  uint16_t port = 0;
  std::string name;
};

// Runs `switchyard backend --name NAME --listen 127.0.0.1:0 EXTRA_ARGS...` (with `extra_env`
// added to its environment) and waits, at most `timeout`, for its backend_listening log line to
// learn the port. On failure, the status message includes the child's output.
absl::StatusOr<DemoBackendProcess> startDemoBackend(
    std::string_view name, const std::vector<std::string>& extra_args = {},
    const ChildProcess::Env& extra_env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace sy::testing
