#pragma once

// The switchyard proxy as a child process, and what the proxy integration tests share: a small
// configuration builder, a fixture that starts backends and the proxy and checks that both exit
// cleanly, and test data helpers.
//
//   absl::StatusOr<SwitchyardProcess> proxy = startSwitchyard(simpleConfig({.backends = {port}}));
//   ASSERT_TRUE(proxy.ok()) << proxy.status();
//   std::optional<Response> response = httpGet(proxy->port(), "/");

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/address_sanitizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {

using Clock = std::chrono::steady_clock;

// A running proxy: `switchyard -c CONFIG` with its configuration file in its own TempDir.
struct SwitchyardProcess {
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<TempDir> dir;
  std::string config_path;
  // Listener name -> port, from the `listening` log events.
  std::map<std::string, uint16_t> ports;
  uint16_t first_port = 0;

  // The port of the first listener.
  uint16_t port() const { return first_port; }

  // Rewrites the configuration file (with the same [admin] rule as startSwitchyard) and sends
  // SIGHUP. Returns the event that answered it, `config_reloaded` or `config_reload_failed`
  // (its "event" says which), or an error when neither came within `timeout`.
  absl::StatusOr<nlohmann::json> reload(
      std::string_view new_toml, std::chrono::milliseconds timeout = std::chrono::seconds(10));
};

// Writes `config_toml` into a fresh TempDir, runs `SY_BINARY_PATH -c FILE EXTRA_ARGS...` with
// `extra_env`, waits up to `timeout` for the `ready` event, and collects every `listening`
// event. A configuration without an `[admin]` table gets `[admin] listen = "127.0.0.1:0"`
// appended, so that parallel tests never fight over the admin API's default port. On failure,
// the status carries the child's output.
absl::StatusOr<SwitchyardProcess> startSwitchyard(
    std::string config_toml, std::vector<std::string> extra_args = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(10),
    const ChildProcess::Env& extra_env = {});

// `switchyard ARGS...` run to its end (up to 10 s) with the test's environment plus `env`: the
// exit code (-1 when it could not run or did not end), everything it printed in *output.
int runSwitchyardToExit(std::vector<std::string> args, const ChildProcess::Env& env,
                        std::string* output);

// `toml` with `[admin]\nlisten = "127.0.0.1:0"\n` appended unless it has an [admin] table, and
// with `accept_grace = "0s"` in [server] unless it sets accept_grace (teardown's SIGTERM must
// not wait for the grace).
std::string withTestAdmin(std::string toml);

// The port of listener `name` from the last `listening` event `switchyard` logged for it (at
// start, or when a reload opened it), or 0 when there is none yet.
uint16_t listenerPortOf(ChildProcess& switchyard, const std::string& name);

// --- Configuration ---------------------------------------------------------------------------

// One listener "http" on 127.0.0.1:0, one pool "app" with `backends` (127.0.0.1 ports), one
// route "default" to it. The string members are extra TOML lines for each table.
struct SimpleConfig {
  std::vector<uint16_t> backends = {};
  int workers = 1;
  std::string server = {};    // e.g. "shutdown_timeout = \"500ms\""
  std::string listener = {};  // e.g. "header_timeout = \"300ms\""
  std::string pool = {};      // e.g. "response_timeout = \"300ms\""
  std::string route = {};     // e.g. "retries = 0"
};
std::string simpleConfig(const SimpleConfig& config);

// `["127.0.0.1:P1", "127.0.0.1:P2"]`.
std::string backendList(const std::vector<uint16_t>& ports);

// A port on 127.0.0.1 that nothing listens on (bound once to pick it, then released), for a
// server the test starts on it. Another process may take it meanwhile: for a backend that must
// stay dead, use refusingPort().
uint16_t unusedPort();

// A port on 127.0.0.1 that refuses every connection for the rest of the test process: a socket
// stays bound to it without listening. Nothing else can take it, not even a proxy's own
// `listen = "127.0.0.1:0"` (the kernel does not pick a bound port), which, given a released
// unusedPort() as a "dead" backend, once forwarded to itself until the head was too large (431).
uint16_t refusingPort();

// --- Hand-made backends ----------------------------------------------------------------------

// A socket bound to 127.0.0.1 with a kernel-chosen port, listening with `backlog`; -1 on error.
int listenOnLoopback(int backlog, uint16_t* port);

// A backend on its own thread that serves one connection at a time: it reads a request head,
// sends `response`, then either closes (`close_after`) or goes silent, reading and dropping
// until the client closes or the server is destroyed.
class RawServer {
 public:
  explicit RawServer(std::string response, bool close_after = false);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  uint16_t port() const { return port_; }
  bool ready() const { return thread_.joinable(); }
  int connections() const { return connections_.load(); }
  // The client closed the current connection (FIN or RST) while the server stalled.
  bool clientClosed() const { return client_closed_.load(); }

 private:
  // Waits for `fd` to be readable; false when the server is stopping.
  bool waitReadable(int fd);
  void run();

  const std::string response_;
  const bool close_after_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> client_closed_{false};
  std::thread thread_;
};

// --- Observing backends ----------------------------------------------------------------------

struct BackendStats {
  uint64_t requests = 0;     // request heads received, /control/* excluded
  uint64_t connections = 0;  // connections accepted
};
// GET /control/stats from a demo backend on a fresh connection.
absl::StatusOr<BackendStats> backendStats(uint16_t port);

// Sockets on 127.0.0.1 whose local port is `port` and that are open in the sending direction
// (ESTABLISHED or CLOSE_WAIT), from /proc/net/tcp: for a server's port, its accepted connections
// that it has not closed yet.
int openConnections(uint16_t port);
// Bytes in the kernel on the connections of a server's `port`, from /proc/net/tcp: both queues
// (tx and rx) of every socket with that port at either end, the server's side and its peers'.
// Bytes a receiver has not read, and bytes its peer wrote and could not send yet: a receiver
// that keeps reading keeps this near zero; one that stopped reading leaves it full.
uint64_t kernelQueuedBytes(uint16_t port);

// --- Data ------------------------------------------------------------------------------------

// /bytes/N of the demo backend, computed here independently of it.
std::string patternBytes(size_t n);
std::string patternDigest(uint64_t n);
// Deterministic, non-repeating bytes.
std::string testBody(size_t n, uint32_t seed = 1);
std::optional<nlohmann::json> parseJson(std::string_view text);
// The values of every header named `name` (case-insensitive) in an /echo answer, in order.
std::vector<std::string> echoedHeader(const nlohmann::json& echo, std::string_view name);

// For memory measurements: under ASan, freed blocks wait in a quarantine of up to 256 MB that
// shows as resident memory; a small quarantine makes RSS mean what it means in release.
ChildProcess::Env memoryTestEnv();
// Whether this is the sanitizer build (slower: tests shrink their large transfers).
constexpr bool kSanitizerBuild =
#if SY_ADDRESS_SANITIZER
    true;
#else
    false;
#endif

long elapsedMs(Clock::time_point since);
// Polls `condition` every few milliseconds until it holds (true) or `timeout` passes (false).
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// --- Fixture ---------------------------------------------------------------------------------

// Starts demo backends and the proxy for a test. TearDown() stops the proxy with SIGTERM and
// expects exit code 0 within 10 s: a crash, a hang, a sanitizer report or a leak anywhere in
// the test fails it.
class ProxyTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Starts a demo backend named `name` (appended to backends_); fails the test (fatally) when it
  // cannot: call with ASSERT_NO_FATAL_FAILURE.
  void startBackend(std::string_view name, const std::vector<std::string>& args = {},
                    const ChildProcess::Env& env = {});
  uint16_t backendPort(size_t index) const { return backends_.at(index)->port; }
  // Starts the proxy; fails the test (fatally) when it cannot.
  void startProxyToml(const std::string& toml, const ChildProcess::Env& env = {});
  // simpleConfig() over the given backends.
  void startProxy(const SimpleConfig& config, const ChildProcess::Env& env = {}) {
    startProxyToml(simpleConfig(config), env);
  }

  uint16_t port() const { return proxy_.port(); }
  void connect(HttpClient* client) { ASSERT_TRUE(client->connect(port())) << client->lastError(); }
  // Stats of backend `index` (in start order), failing the test on error.
  BackendStats stats(size_t index);

  std::vector<std::unique_ptr<DemoBackendProcess>> backends_;
  SwitchyardProcess proxy_;
};

}  // namespace sy::testing
