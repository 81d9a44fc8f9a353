#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

extern char** environ;

namespace sy::testing {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status errnoStatus(std::string_view what) {
  return absl::InternalError(absl::StrCat(core::toAbsl(what), ": ", std::strerror(errno)));
}

// argv[0] as given when it has a '/', else the first executable match in PATH.
std::string resolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::string candidate = absl::StrCat(core::toAbsl(dir.empty() ? "." : dir), "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return program;  // execve fails with ENOENT, which start() reports
}

void closeFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::start(std::vector<std::string> argv,
                                                                  const Env& extra_env) {
  if (argv.empty()) return absl::InvalidArgumentError("ChildProcess: empty argv");
  const std::string program = resolveProgram(argv[0]);

  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed (the test binary has threads).
  std::vector<char*> child_argv;
  for (std::string& arg : argv) child_argv.push_back(arg.data());
  child_argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view key = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& [name, value] : extra_env) overridden = overridden || name == key;
    if (!overridden) env_strings.emplace_back(text);
  }
  for (const auto& [name, value] : extra_env) env_strings.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> child_env;
  for (std::string& entry : env_strings) child_env.push_back(entry.data());
  child_env.push_back(nullptr);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};
  int wake_pipe[2] = {-1, -1};
  const auto closeAll = [&] {
    for (int* fds : {out_pipe, err_pipe, exec_pipe, wake_pipe}) {
      closeFd(&fds[0]);
      closeFd(&fds[1]);
    }
  };
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0 || ::pipe2(wake_pipe, O_CLOEXEC) != 0) {
    const absl::Status status = errnoStatus("pipe2");
    closeAll();
    return status;
  }
  const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) {
    const absl::Status status = errnoStatus("open /dev/null");
    closeAll();
    return status;
  }
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const absl::Status status = errnoStatus("fork");
    ::close(dev_null);
    closeAll();
    return status;
  }
  if (pid == 0) {
    // Child. dup2 clears O_CLOEXEC on the copies; everything else closes at exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t all;
    ::sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
      ::sigaction(sig, &default_action, nullptr);
    }
    if (::dup2(dev_null, STDIN_FILENO) < 0 || ::dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        ::dup2(err_pipe[1], STDERR_FILENO) < 0) {
      const int error = errno;
      (void)!::write(exec_pipe[1], &error, sizeof error);
      ::_exit(127);
    }
    ::execve(program.c_str(), child_argv.data(), child_env.data());
    const int error = errno;
    (void)!::write(exec_pipe[1], &error, sizeof error);
    ::_exit(127);
  }

  ::close(dev_null);
  closeFd(&out_pipe[1]);
  closeFd(&err_pipe[1]);
  closeFd(&exec_pipe[1]);
  // exec succeeded when the CLOEXEC pipe closes without data.
  int exec_error = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  closeFd(&exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    closeAll();
    return absl::InternalError(
        absl::StrCat("cannot run ", program, ": ", std::strerror(exec_error)));
  }

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->stdout_fd_ = std::exchange(out_pipe[0], -1);
  child->stderr_fd_ = std::exchange(err_pipe[0], -1);
  child->wake_read_fd_ = std::exchange(wake_pipe[0], -1);
  child->wake_write_fd_ = std::exchange(wake_pipe[1], -1);
  const char* echo = std::getenv("SY_TEST_ECHO_CHILD");
  child->echo_ = echo != nullptr && *echo != '\0' && std::strcmp(echo, "0") != 0;
  child->reader_ = std::thread([raw = child.get()] { raw->readLoop(); });
  return child;
}

ChildProcess::~ChildProcess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // Grandchildren may still hold the pipes open: wake the reader rather than wait for EOF.
  closeFd(&wake_write_fd_);
  if (reader_.joinable()) reader_.join();
  closeFd(&wake_read_fd_);
  closeFd(&stdout_fd_);
  closeFd(&stderr_fd_);
}

void ChildProcess::addLine(bool from_stderr, std::string text) {
  if (echo_) {
    std::fprintf(stderr, "[child %d %s] %s\n", static_cast<int>(pid_), from_stderr ? "err" : "out",
                 text.c_str());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  lines_.push_back(Line{from_stderr, std::move(text)});
  changed_.notify_all();
}

void ChildProcess::readLoop() {
  std::string partial[2];
  bool open[2] = {true, true};
  const int fds[2] = {stdout_fd_, stderr_fd_};
  char buffer[16 * 1024];
  while (open[0] || open[1]) {
    pollfd entries[3] = {{open[0] ? fds[0] : -1, POLLIN, 0},
                         {open[1] ? fds[1] : -1, POLLIN, 0},
                         {wake_read_fd_, POLLIN, 0}};
    const int rc = ::poll(entries, 3, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (entries[2].revents != 0) break;  // the owner is going away
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || entries[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i], buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        open[i] = false;
        if (!partial[i].empty()) addLine(i == 1, std::move(partial[i]));
        partial[i].clear();
        continue;
      }
      partial[i].append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t newline; (newline = partial[i].find('\n', start)) != std::string::npos;) {
        addLine(i == 1, partial[i].substr(start, newline - start));
        start = newline + 1;
      }
      partial[i].erase(0, start);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  streams_closed_ = true;
  changed_.notify_all();
}

std::optional<std::string> ChildProcess::waitForLine(
    const std::function<bool(const std::string&)>& predicate, std::chrono::milliseconds timeout,
    size_t from_line) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  size_t next = from_line;
  for (;;) {
    for (; next < lines_.size(); ++next) {
      if (predicate(lines_[next].text)) return lines_[next].text;
    }
    if (streams_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; next < lines_.size(); ++next) {
        if (predicate(lines_[next].text)) return lines_[next].text;
      }
      return std::nullopt;
    }
  }
}

std::vector<std::string> ChildProcess::lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const Line& line : lines_) out.push_back(line.text);
  return out;
}

std::vector<std::string> ChildProcess::stdoutLines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const Line& line : lines_) {
    if (!line.from_stderr) out.push_back(line.text);
  }
  return out;
}

std::vector<std::string> ChildProcess::stderrLines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const Line& line : lines_) {
    if (line.from_stderr) out.push_back(line.text);
  }
  return out;
}

std::string ChildProcess::output() const {
  std::string out;
  for (const std::string& line : lines()) absl::StrAppend(&out, line, "\n");
  return out;
}

void ChildProcess::waitForOutputAfterExit() {
  // The exit can be reaped before the reader thread has drained the pipes: without this, a test
  // that checks the output right after waitExit() would sometimes see none of it.
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, std::chrono::seconds(2), [this] { return streams_closed_; });
}

bool ChildProcess::signal(int signum) {
  if (exit_code_.has_value() || pid_ <= 0) return false;
  return ::kill(pid_, signum) == 0;
}

bool ChildProcess::stopAndWait(std::chrono::milliseconds timeout) {
  if (!signal(SIGSTOP)) return false;
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid_) + "/task";
  for (;;) {
    bool all_stopped = true;
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
      std::ifstream stat(task.path() / "stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      // "PID (comm) S ...": the state follows the last ')' (comm may hold one).
      const size_t paren = text.rfind(')');
      if (paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'T') {
        all_stopped = false;
        break;
      }
    }
    if (!error && all_stopped) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  if (exit_code_.has_value()) return exit_code_;
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
      if (WIFEXITED(status)) {
        exit_code_ = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        exit_code_ = 128 + WTERMSIG(status);
      } else {
        continue;  // stopped or continued: not an exit
      }
      waitForOutputAfterExit();
      return exit_code_;
    }
    if (rc < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ChildProcess::running() { return !waitExit(std::chrono::milliseconds(0)).has_value(); }

long ChildProcess::rssKiB() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    long kib = -1;
    std::string_view value = std::string_view(line).substr(6);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    value = value.substr(0, value.find(' '));
    if (!absl::SimpleAtoi(core::toAbsl(value), &kib)) return -1;
    return kib;
  }
  return -1;
}

std::optional<nlohmann::json> parseJsonLogLine(std::string_view line) {
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::optional<nlohmann::json> waitForLogEvent(ChildProcess& process, std::string_view event,
                                              std::chrono::milliseconds timeout, size_t from_line) {
  const std::optional<std::string> line = process.waitForLine(
      [event](const std::string& text) {
        const std::optional<nlohmann::json> json = parseJsonLogLine(text);
        if (!json.has_value()) return false;
        const auto found = json->find("event");
        return found != json->end() && found->is_string() && found->get<std::string>() == event;
      },
      timeout, from_line);
  if (!line.has_value()) return std::nullopt;
  return parseJsonLogLine(*line);
}

bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses, the last ')' ends it.
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

std::string switchyardBinary() { return SY_BINARY_PATH; }

absl::StatusOr<DemoBackendProcess> startDemoBackend(std::string_view name,
                                                    const std::vector<std::string>& extra_args,
                                                    const ChildProcess::Env& extra_env,
                                                    std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {switchyardBinary(), "backend",  "--name",
                                   std::string(name),  "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::start(argv, extra_env);
  if (!child.ok()) return child.status();
  const std::optional<nlohmann::json> listening =
      waitForLogEvent(**child, "backend_listening", timeout);
  uint32_t port = 0;
  if (listening.has_value() && listening->contains("address") &&
      (*listening)["address"].is_string()) {
    const std::string address = (*listening)["address"].get<std::string>();
    const size_t colon = address.rfind(':');
    if (colon != std::string::npos &&
        !absl::SimpleAtoi(core::toAbsl(std::string_view(address).substr(colon + 1)), &port)) {
      port = 0;
    }
  }
  if (port == 0 || port > 65535) {
    const std::optional<int> exit_code = (*child)->waitExit(std::chrono::milliseconds(0));
    return absl::UnavailableError(absl::StrCat(
        "demo backend ", core::toAbsl(name), " did not report a port within ", timeout.count(),
        " ms", exit_code.has_value() ? absl::StrCat(" (exited with ", *exit_code, ")") : "",
        "; its output:\n", (*child)->output()));
  }
  DemoBackendProcess backend;
  backend.process = std::move(*child);
  backend.port = static_cast<uint16_t>(port);
  backend.name = std::string(name);
  return backend;
}

}  // namespace sy::testing
