#pragma once

// What the health, drain and rolling-update integration tests share: a client for the admin
// API, continuous keep-alive GET load that records which backend served what and when, and a
// fixture that starts the proxy and learns its admin port.
//
//   LoadGenerator load({.port = port(), .clients = 4});
//   load.start();
//   ... drain, kill, flip health ...
//   load.stop();
//   EXPECT_EQ(load.failed(), 0u) << load.failureSummary();

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {

// --- Admin API -------------------------------------------------------------------------------

// The backend `address` of pool `pool` in an /admin/status answer; null when absent.
nlohmann::json backendStatus(const nlohmann::json& status, std::string_view pool,
                             std::string_view address);

// "127.0.0.1:PORT", as backends are written in the test configurations.
std::string localAddress(uint16_t port);

// --- Load ------------------------------------------------------------------------------------

// `clients` threads, each with one keep-alive connection to the proxy, sending GET `path` in a
// loop until stop(). A response counts as served when it is a 200 with an X-Backend header;
// anything else (another status, a broken connection, a timeout) counts as failed, and the
// client reconnects.
class LoadGenerator {
 public:
  struct Options {
    uint16_t port = 0;
    int clients = 4;
    std::string path = "/";
    std::chrono::milliseconds timeout{5000};
  };

  explicit LoadGenerator(Options options);
  ~LoadGenerator();  // stops
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  void start();
  void stop();

  uint64_t served() const { return served_.load(); }
  uint64_t failed() const { return failed_.load(); }
  // Responses served by the backend named `name` (X-Backend).
  uint64_t servedBy(const std::string& name) const;
  // When the last request that `name` served was sent; nullopt when it served none.
  std::optional<Clock::time_point> lastSentTo(const std::string& name) const;
  // The first few failures, for messages.
  std::string failureSummary() const;
  // Waits until `served()` grew by at least `count` from now, up to `timeout`.
  bool waitForMore(uint64_t count, std::chrono::milliseconds timeout) const;
  // Waits until `name` served at least `count` more responses from now, up to `timeout`.
  bool waitForMoreFrom(const std::string& name, uint64_t count,
                       std::chrono::milliseconds timeout) const;

 private:
  struct PerBackend {
    uint64_t served = 0;
    Clock::time_point last_sent{};
  };

  void run(int index);
  void record(const std::string& backend, Clock::time_point sent);
  void recordFailure(std::string what);

  Options options_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0};
  std::atomic<uint64_t> failed_{0};
  mutable std::mutex mutex_;
  std::map<std::string, PerBackend> backends_;
  std::vector<std::string> failures_;
};

// --- Fixture ---------------------------------------------------------------------------------

// ProxyTest plus the admin API: startProxyWithAdmin() also learns the admin port.
class AdminProxyTest : public ProxyTest {
 protected:
  void startProxyWithAdmin(const std::string& toml);
  // Reads the admin port of the running proxy (after a startProxyToml() of one's own).
  void learnAdminPort();
  // A call on a fresh connection; no answer at all fails the test.
  AdminResult admin(std::string_view method, std::string_view target, const Headers& headers = {});
  // GET /admin/status (a failed call fails the test and returns null).
  nlohmann::json status();
  // The backends of `pool` in /admin/status, in its order (empty when there is no such pool).
  std::vector<nlohmann::json> poolBackends(std::string_view pool);
  // Their addresses.
  std::vector<std::string> poolAddresses(std::string_view pool);
  // The status of one backend of `pool` (the i-th started demo backend's address).
  nlohmann::json backend(std::string_view pool, size_t index);
  // Polls backend(pool, index) every 10 ms until `predicate` holds or `timeout` passes.
  bool waitForBackend(std::string_view pool, size_t index,
                      const std::function<bool(const nlohmann::json&)>& predicate,
                      std::chrono::milliseconds timeout);
  // Stops a demo backend with SIGKILL and reaps it (TearDown then leaves it alone).
  void killBackend(size_t index);

  uint16_t admin_port_ = 0;
  // Sent with every admin() call that brings no headers of its own (a bearer token).
  Headers admin_headers_;
};

}  // namespace sy::testing
