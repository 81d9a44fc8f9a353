#include "proxy/control/upgrader.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/control/upgrade_channel.h"

extern char** environ;

namespace sy::proxy::control {
namespace {

// The running binary's path. A package upgrade replaces the file: the link then reads
// "PATH (deleted)", and PATH is the new binary, which is what an upgrade wants.
std::string selfBinary() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  std::string binary(path, static_cast<size_t>(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (binary.size() > kDeleted.size() &&
      binary.compare(binary.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    binary.resize(binary.size() - kDeleted.size());
  }
  return binary;
}

// This process's arguments, as it was started (the configuration path, log options, ...).
std::vector<std::string> selfArguments() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

template <typename Handle>
void closeAndDelete(Handle*& handle) {
  if (handle == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
  handle = nullptr;
}

}  // namespace

Upgrader::~Upgrader() { close(); }

void Upgrader::start(uv_loop_t* loop, std::string binary, const std::vector<Socket>& sockets,
                     const nlohmann::json& state, Done done) {
  binary_ = binary.empty() ? selfBinary() : std::move(binary);
  done_ = std::move(done);
  if (process_ != nullptr) {
    finish(absl::UnavailableError("the new process of the last upgrade is still stopping"));
    return;
  }
  exited_ = false;
  handoff_error_.clear();
  if (absl::Status spawned = spawn(loop); !spawned.ok()) {
    finish(spawned);
    return;
  }
  for (const Socket& socket : sockets) {
    const nlohmann::json body = {
        {"socket",
         {{"kind", socket.kind == InheritedSockets::Kind::kAdmin ? "admin" : "listener"},
          {"name", socket.name}}}};
    if (absl::Status sent = sendChannelMessage(channel_, body, {socket.fd}); !sent.ok()) {
      handoffFailed(absl::StrCat("handing over the sockets: ", sent.message()));
      return;
    }
  }
  if (absl::Status sent = sendChannelMessage(channel_, {{"state", state}}); !sent.ok()) {
    handoffFailed(absl::StrCat("handing over the state: ", sent.message()));
  }
}

void Upgrader::handoffFailed(std::string error) {
  // Most often the new process died at once (EPIPE): its exit status says more than the send
  // error, so onExit reports. It is stopped in case it still runs.
  handoff_error_ = std::move(error);
  uv_process_kill(process_, SIGTERM);
}

absl::Status Upgrader::spawn(uv_loop_t* loop) {
  if (binary_.empty() || ::access(binary_.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", binary_.empty() ? "the binary" : binary_, ": ",
                     binary_.empty() ? "/proc/self/exe unreadable" : std::strerror(errno)));
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  channel_ = pair[0];
  child_channel_ = pair[1];

  std::vector<std::string> args = selfArguments();
  if (args.empty()) args.push_back(binary_);
  args[0] = binary_;
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The child finds its end of the channel as descriptor 3 (stdio[3] below).
  std::vector<std::string> env_strings;
  const std::string prefix = absl::StrCat(kUpgradeFdVariable, "=");
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::string_view(*entry).rfind(prefix, 0) != 0) env_strings.emplace_back(*entry);
  }
  env_strings.push_back(prefix + "3");
  std::vector<char*> env;
  for (std::string& entry : env_strings) env.push_back(entry.data());
  env.push_back(nullptr);

  uv_stdio_container_t stdio[4];
  for (int i = 0; i < 3; ++i) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = child_channel_;
  uv_process_options_t options{};
  options.file = binary_.c_str();
  options.args = argv.data();
  options.env = env.data();
  options.stdio_count = 4;
  options.stdio = stdio;
  options.exit_cb = &Upgrader::onExit;

  process_ = new uv_process_t{};
  process_->data = this;
  const int rc = uv_spawn(loop, process_, &options);
  ::close(child_channel_);
  child_channel_ = -1;
  if (rc != 0) {
    // libuv initialised the handle all the same: it must be closed, and there is no process
    // (pid 0) to signal.
    exited_ = true;
    closeAndDelete(process_);
    return absl::UnavailableError(absl::StrCat("cannot start ", binary_, ": ", uv_strerror(rc)));
  }
  core::logInfo("upgrade_started", {{"binary", binary_}, {"pid", process_->pid}});

  poll_ = new uv_poll_t{};
  uv_poll_init(loop, poll_, channel_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &Upgrader::onReadable);
  timer_ = new uv_timer_t{};
  uv_timer_init(loop, timer_);
  timer_->data = this;
  uv_timer_start(
      timer_,
      [](uv_timer_t* timer) {
        static_cast<Upgrader*>(timer->data)
            ->finish(absl::DeadlineExceededError(absl::StrCat(
                "the new process was not ready within ", kReadyTimeoutMs / 1000, "s")));
      },
      kReadyTimeoutMs, 0);
  return absl::OkStatus();
}

void Upgrader::onReadable(uv_poll_t* poll, int /*status*/, int /*events*/) {
  auto* self = static_cast<Upgrader*>(poll->data);
  absl::StatusOr<ChannelMessage> message = receiveChannelMessage(self->channel_, 0);
  if (!message.ok()) {
    // The new process closed its end without a verdict: it died; onExit says how.
    uv_poll_stop(poll);
    return;
  }
  for (int fd : message->fds) ::close(fd);
  const nlohmann::json& body = message->body;
  if (body.value("ready", false)) {
    self->finish(body.value("pid", 0));
  } else {
    self->finish(absl::FailedPreconditionError(
        absl::StrCat("the new process did not start: ", body.value("error", "no reason given"))));
  }
}

void Upgrader::onExit(uv_process_t* process, int64_t exit_status, int term_signal) {
  auto* self = static_cast<Upgrader*>(process->data);
  self->exited_ = true;
  // Drain a verdict that arrived with the exit (a refusal is sent just before exiting).
  if (self->running() && self->poll_ != nullptr) onReadable(self->poll_, 0, UV_READABLE);
  if (!self->running()) {
    closeAndDelete(self->process_);
    return;
  }
  if (term_signal == SIGTERM && !self->handoff_error_.empty()) {
    self->finish(absl::UnavailableError(self->handoff_error_));
    return;
  }
  self->finish(absl::UnavailableError(term_signal != 0
                                          ? absl::StrCat("the new process was killed by signal ",
                                                         term_signal, " before it was ready")
                                          : absl::StrCat("the new process exited with status ",
                                                         exit_status, " before it was ready")));
}

void Upgrader::finish(absl::StatusOr<int> result) {
  if (!running()) return;
  Done done = std::move(done_);
  done_ = nullptr;
  // A new process that cannot be ready must not keep the sockets: stop it, and keep its handle
  // until onExit reaps it. One that is ready is not ours to wait for.
  if (!result.ok() && process_ != nullptr && !exited_) uv_process_kill(process_, SIGTERM);
  if (result.ok() || exited_) closeAndDelete(process_);
  closeHandles();
  done(std::move(result));
}

void Upgrader::closeHandles() {
  closeAndDelete(poll_);
  closeAndDelete(timer_);
  if (channel_ >= 0) ::close(channel_);
  channel_ = -1;
  if (child_channel_ >= 0) ::close(child_channel_);
  child_channel_ = -1;
}

void Upgrader::close() {
  done_ = nullptr;
  if (process_ != nullptr && !exited_) uv_process_kill(process_, SIGTERM);
  closeAndDelete(process_);
  closeHandles();
}

}  // namespace sy::proxy::control
