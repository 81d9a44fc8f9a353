#include "tests/support/switchyard_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "proxy/demo/demo_backend.h"
#include "tests/support/digest.h"
#include "tests/support/sizes.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

bool hasAdminTable(std::string_view toml) {
  while (!toml.empty()) {
    const size_t newline = toml.find('\n');
    std::string_view line = toml.substr(0, newline);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.substr(0, 7) == "[admin]") return true;
    if (newline == std::string_view::npos) break;
    toml.remove_prefix(newline + 1);
  }
  return false;
}

// Where the line that starts with `header` (after blanks) ends, or npos when there is none.
size_t endOfHeaderLine(std::string_view toml, std::string_view header) {
  size_t start = 0;
  while (start < toml.size()) {
    const size_t newline = toml.find('\n', start);
    std::string_view line = toml.substr(start, newline - start);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.substr(0, header.size()) == header) return newline;
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  return std::string_view::npos;
}

// Tests stop the proxy with SIGTERM at teardown: none waits for the accept grace unless it asks
// for one (a configuration that names accept_grace keeps its own).
std::string withoutAcceptGrace(std::string toml) {
  if (toml.find("accept_grace") != std::string::npos) return toml;
  const size_t server_end = endOfHeaderLine(toml, "[server]");
  if (server_end != std::string::npos) {
    toml.insert(server_end + 1, "accept_grace = \"0s\"\n");
  } else if (toml.find("[server]") == std::string::npos) {
    if (!toml.empty() && toml.back() != '\n') toml.push_back('\n');
    toml.append("\n[server]\naccept_grace = \"0s\"\n");
  }
  return toml;
}

std::optional<uint16_t> portOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(core::toAbsl(std::string_view(address).substr(colon + 1)), &port) ||
      port == 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

std::string eventOf(const std::string& line) {
  const std::optional<nlohmann::json> json = parseJsonLogLine(line);
  if (!json.has_value()) return "";
  const auto found = json->find("event");
  return found != json->end() && found->is_string() ? found->get<std::string>() : "";
}

}  // namespace

int runSwitchyardToExit(std::vector<std::string> args, const ChildProcess::Env& env,
                        std::string* output) {
  args.insert(args.begin(), switchyardBinary());
  auto process = ChildProcess::start(args, env);
  if (!process.ok()) return -1;
  const std::optional<int> code = (*process)->waitExit(std::chrono::seconds(10));
  // The exit can be seen before the reader thread took the last lines: wait for the streams to
  // close (no line matches, so this returns once they are).
  (*process)->waitForLine([](const std::string&) { return false; }, std::chrono::seconds(10));
  *output = (*process)->output();
  return code.value_or(-1);
}

std::string withTestAdmin(std::string toml) {
  toml = withoutAcceptGrace(std::move(toml));
  if (hasAdminTable(toml)) return toml;
  if (!toml.empty() && toml.back() != '\n') toml.push_back('\n');
  toml.append("\n[admin]\nlisten = \"127.0.0.1:0\"\n");
  return toml;
}

absl::StatusOr<SwitchyardProcess> startSwitchyard(std::string config_toml,
                                                  std::vector<std::string> extra_args,
                                                  std::chrono::milliseconds timeout,
                                                  const ChildProcess::Env& extra_env) {
  SwitchyardProcess proxy;
  proxy.dir = std::make_unique<TempDir>();
  proxy.config_path =
      proxy.dir->writeFile("switchyard.toml", withTestAdmin(std::move(config_toml)));
  std::vector<std::string> argv = {switchyardBinary(), "-c", proxy.config_path};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::start(argv, extra_env);
  if (!child.ok()) return child.status();
  proxy.process = std::move(*child);

  const std::optional<nlohmann::json> ready = waitForLogEvent(*proxy.process, "ready", timeout);
  if (!ready.has_value()) {
    const std::optional<int> exit_code = proxy.process->waitExit(milliseconds(0));
    return absl::UnavailableError(
        absl::StrCat("switchyard did not log `ready` within ", timeout.count(), " ms",
                     exit_code.has_value() ? absl::StrCat(" (exited with ", *exit_code, ")") : "",
                     "; its output:\n", proxy.process->output()));
  }
  // The listeners are logged before `ready`, in configuration order.
  for (const std::string& line : proxy.process->lines()) {
    if (eventOf(line) != "listening") continue;
    const nlohmann::json json = *parseJsonLogLine(line);
    if (!json.contains("listener") || !json["listener"].is_string() || !json.contains("address") ||
        !json["address"].is_string()) {
      return absl::InternalError(absl::StrCat("malformed listening event: ", line));
    }
    const std::optional<uint16_t> port = portOf(json["address"].get<std::string>());
    if (!port.has_value()) {
      return absl::InternalError(absl::StrCat("listening event without a port: ", line));
    }
    proxy.ports[json["listener"].get<std::string>()] = *port;
    if (proxy.first_port == 0) proxy.first_port = *port;
  }
  if (proxy.first_port == 0) {
    return absl::InternalError(absl::StrCat(
        "switchyard is ready but logged no listener; its output:\n", proxy.process->output()));
  }
  return proxy;
}

absl::StatusOr<nlohmann::json> SwitchyardProcess::reload(std::string_view new_toml,
                                                         std::chrono::milliseconds timeout) {
  const size_t from_line = process->lines().size();
  dir->writeFile("switchyard.toml", withTestAdmin(std::string(new_toml)));
  if (!process->signal(SIGHUP)) return absl::FailedPreconditionError("switchyard is not running");
  const std::optional<std::string> line = process->waitForLine(
      [](const std::string& text) {
        // Only the SIGHUP's own event: a line an earlier admin reload logged may still be on its
        // way through the pipe when from_line is taken.
        const std::string event = eventOf(text);
        if (event != "config_reloaded" && event != "config_reload_failed") return false;
        const std::optional<nlohmann::json> fields = parseJsonLogLine(text);
        return fields.has_value() && fields->value("trigger", "") == "SIGHUP";
      },
      timeout, from_line);
  if (!line.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat("no reload event within ", timeout.count(),
                                                    " ms; output:\n", process->output()));
  }
  return *parseJsonLogLine(*line);
}

// --- Configuration ---------------------------------------------------------------------------

std::string backendList(const std::vector<uint16_t>& ports) {
  std::vector<std::string> quoted;
  for (uint16_t port : ports) quoted.push_back(absl::StrCat("\"127.0.0.1:", port, "\""));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string simpleConfig(const SimpleConfig& config) {
  return absl::StrCat(
      "[server]\nworkers = ", config.workers, "\n", config.server,
      "\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n", config.listener,
      "\n\n[[pools]]\nname = \"app\"\nbackends = ", backendList(config.backends), "\n", config.pool,
      "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n", config.route, "\n");
}

namespace {

// A TCP socket bound to 127.0.0.1 with a kernel-chosen port (*port), listening with `backlog`
// unless it is negative; -1 on error.
int bindLoopback(int backlog, uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      (backlog >= 0 && ::listen(fd, backlog) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  *port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

uint16_t unusedPort() {
  uint16_t port = 0;
  const int fd = bindLoopback(-1, &port);
  if (fd < 0) return 0;
  ::close(fd);
  return port;
}

uint16_t refusingPort() {
  uint16_t port = 0;
  // The socket stays open (and bound) until the process exits.
  return bindLoopback(-1, &port) >= 0 ? port : 0;
}

int listenOnLoopback(int backlog, uint16_t* port) { return bindLoopback(backlog, port); }

RawServer::RawServer(std::string response, bool close_after)
    : response_(std::move(response)), close_after_(close_after) {
  listen_fd_ = listenOnLoopback(16, &port_);
  if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  if (listen_fd_ >= 0 && wake_[0] >= 0) thread_ = std::thread([this] { run(); });
}

RawServer::~RawServer() {
  if (wake_[1] >= 0) ::close(wake_[1]);  // wakes every poll of the thread
  if (thread_.joinable()) thread_.join();
  if (wake_[0] >= 0) ::close(wake_[0]);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool RawServer::waitReadable(int fd) {
  pollfd entries[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (::poll(entries, 2, -1) < 0) {
  }
  return entries[1].revents == 0;
}

void RawServer::run() {
  while (waitReadable(listen_fd_)) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    client_closed_ = false;
    std::string head;
    char buffer[4096];
    bool open = true;
    while (open && head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = waitReadable(fd) ? ::recv(fd, buffer, sizeof buffer, 0) : 0;
      if (n <= 0) open = false;
      if (n > 0) head.append(buffer, static_cast<size_t>(n));
    }
    if (open) (void)!::send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
    while (open && !close_after_) {
      if (!waitReadable(fd)) break;  // stopping
      if (::recv(fd, buffer, sizeof buffer, 0) <= 0) {
        client_closed_ = true;
        open = false;
      }
    }
    ::close(fd);
  }
}

// --- Observing backends ----------------------------------------------------------------------

absl::StatusOr<BackendStats> backendStats(uint16_t port) {
  std::string error;
  const std::optional<Response> response = httpGet(port, "/control/stats", {}, &error);
  if (!response.has_value()) return absl::UnavailableError(absl::StrCat("/control/stats: ", error));
  const std::optional<nlohmann::json> json = parseJson(response->body);
  if (response->status != 200 || !json.has_value() || !(*json)["requests"].is_number() ||
      !(*json)["connections"].is_number()) {
    return absl::InternalError(
        absl::StrCat("/control/stats answered ", response->status, ": ", response->body));
  }
  return BackendStats{(*json)["requests"].get<uint64_t>(), (*json)["connections"].get<uint64_t>()};
}

namespace {

// One row of /proc/net/tcp: "  0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 ..." (hex).
struct TcpTableRow {
  unsigned long local_port = 0;
  unsigned long remote_port = 0;
  std::string state;
  uint64_t tx_queue = 0;
  uint64_t rx_queue = 0;
};

void forEachTcpTableRow(const std::function<void(const TcpTableRow&)>& visit) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the column titles
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, queues;
    TcpTableRow row;
    fields >> slot >> local >> remote >> row.state >> queues;
    const size_t local_colon = local.find(':');
    const size_t remote_colon = remote.find(':');
    const size_t queue_colon = queues.find(':');
    if (local_colon == std::string::npos || remote_colon == std::string::npos ||
        queue_colon == std::string::npos) {
      continue;
    }
    row.local_port = std::strtoul(local.c_str() + local_colon + 1, nullptr, 16);
    row.remote_port = std::strtoul(remote.c_str() + remote_colon + 1, nullptr, 16);
    row.tx_queue = std::strtoull(queues.c_str(), nullptr, 16);
    row.rx_queue = std::strtoull(queues.c_str() + queue_colon + 1, nullptr, 16);
    visit(row);
  }
}

}  // namespace

int openConnections(uint16_t port) {
  int count = 0;
  forEachTcpTableRow([&](const TcpTableRow& row) {
    if (row.local_port == port && (row.state == "01" || row.state == "08")) ++count;
  });
  return count;
}

uint64_t kernelQueuedBytes(uint16_t port) {
  uint64_t queued = 0;
  forEachTcpTableRow([&](const TcpTableRow& row) {
    if (row.local_port == port || row.remote_port == port) queued += row.tx_queue + row.rx_queue;
  });
  return queued;
}

// --- Data ------------------------------------------------------------------------------------

std::string patternBytes(size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(proxy::kDemoBytesPattern[i % 64]);
  return out;
}

std::string patternDigest(uint64_t n) {
  static const std::string block = patternBytes(kMiB);  // a whole number of 64-byte periods
  Sha256 sha;
  for (uint64_t left = n; left > 0;) {
    const size_t length = static_cast<size_t>(std::min<uint64_t>(left, block.size()));
    sha.update(block.data(), length);
    left -= length;
  }
  return sha.finishHex();
}

std::string testBody(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

std::optional<nlohmann::json> parseJson(std::string_view text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::vector<std::string> echoedHeader(const nlohmann::json& echo, std::string_view name) {
  std::vector<std::string> values;
  if (!echo.is_object() || !echo.contains("headers") || !echo["headers"].is_array()) return values;
  for (const auto& field : echo["headers"]) {
    if (field.is_array() && field.size() == 2 && field[0].is_string() && field[1].is_string() &&
        core::equalsIgnoreCase(field[0].get<std::string>(), name)) {
      values.push_back(field[1].get<std::string>());
    }
  }
  return values;
}

ChildProcess::Env memoryTestEnv() {
  if (!kSanitizerBuild) return {};
  const char* existing = std::getenv("ASAN_OPTIONS");
  const std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"}};
}

long elapsedMs(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// --- Fixture ---------------------------------------------------------------------------------

void ProxyTest::startBackend(std::string_view name, const std::vector<std::string>& args,
                             const ChildProcess::Env& env) {
  absl::StatusOr<DemoBackendProcess> started = startDemoBackend(name, args, env);
  ASSERT_TRUE(started.ok()) << started.status();
  backends_.push_back(std::make_unique<DemoBackendProcess>(std::move(*started)));
}

void ProxyTest::startProxyToml(const std::string& toml, const ChildProcess::Env& env) {
  absl::StatusOr<SwitchyardProcess> started =
      startSwitchyard(toml, {}, std::chrono::seconds(10), env);
  ASSERT_TRUE(started.ok()) << started.status();
  proxy_ = std::move(*started);
}

BackendStats ProxyTest::stats(size_t index) {
  absl::StatusOr<BackendStats> result = backendStats(backends_.at(index)->port);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(BackendStats{});
}

void ProxyTest::TearDown() {
  if (proxy_.process != nullptr) {
    proxy_.process->signal(SIGTERM);
    const std::optional<int> code = proxy_.process->waitExit(std::chrono::seconds(10));
    EXPECT_EQ(code, std::optional<int>(0)) << "switchyard output:\n" << proxy_.process->output();
  }
  for (auto& backend : backends_) {
    if (backend->process == nullptr) continue;
    backend->process->signal(SIGTERM);
    const std::optional<int> code = backend->process->waitExit(std::chrono::seconds(10));
    EXPECT_EQ(code, std::optional<int>(0)) << "backend " << backend->name << " output:\n"
                                           << backend->process->output();
  }
}

uint16_t listenerPortOf(ChildProcess& switchyard, const std::string& name) {
  uint16_t port = 0;
  for (const std::string& line : switchyard.lines()) {
    const std::optional<nlohmann::json> json = parseJsonLogLine(line);
    if (!json.has_value() || json->value("event", "") != "listening" ||
        json->value("listener", "") != name) {
      continue;
    }
    const std::string address = json->value("address", "");
    uint32_t parsed = 0;
    if (absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &parsed) && parsed <= 65535) {
      port = static_cast<uint16_t>(parsed);
    }
  }
  return port;
}

}  // namespace sy::testing
