#include "tests/support/health_support.h"

#include <signal.h>

#include "absl/strings/str_cat.h"

namespace sy::testing {

using std::chrono::milliseconds;

nlohmann::json backendStatus(const nlohmann::json& status, std::string_view pool,
                             std::string_view address) {
  if (!status.is_object() || !status.contains("pools")) return nullptr;
  for (const auto& p : status["pools"]) {
    if (p.value("name", "") != pool) continue;
    for (const auto& b : p["backends"]) {
      if (b.value("address", "") == address) return b;
    }
  }
  return nullptr;
}

std::string localAddress(uint16_t port) { return absl::StrCat("127.0.0.1:", port); }

// --- LoadGenerator ---------------------------------------------------------------------------

LoadGenerator::LoadGenerator(Options options) : options_(std::move(options)) {}

LoadGenerator::~LoadGenerator() { stop(); }

void LoadGenerator::start() {
  for (int i = 0; i < options_.clients; ++i) threads_.emplace_back([this, i] { run(i); });
}

void LoadGenerator::stop() {
  stop_.store(true);
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void LoadGenerator::run(int index) {
  HttpClient client(options_.timeout);
  while (!stop_.load()) {
    if (!client.connected() && !client.connect(options_.port)) {
      recordFailure(absl::StrCat("client ", index, " connect: ", client.lastError()));
      std::this_thread::sleep_for(milliseconds(20));
      continue;
    }
    const Clock::time_point sent = Clock::now();
    std::optional<Response> response = client.request("GET", options_.path);
    std::optional<std::string> backend =
        response.has_value() ? response->header("X-Backend") : std::nullopt;
    if (response.has_value() && response->status == 200 && backend.has_value()) {
      record(*backend, sent);
      if (!response->keep_alive) client.close();
      continue;
    }
    recordFailure(response.has_value()
                      ? absl::StrCat("client ", index, ": status ", response->status, " ",
                                     response->body.substr(0, 120))
                      : absl::StrCat("client ", index, ": ", client.lastError()));
    client.close();
  }
}

void LoadGenerator::record(const std::string& backend, Clock::time_point sent) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerBackend& entry = backends_[backend];
  ++entry.served;
  entry.last_sent = std::max(entry.last_sent, sent);
  served_.fetch_add(1);
}

void LoadGenerator::recordFailure(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  failed_.fetch_add(1);
  if (failures_.size() < 10) failures_.push_back(std::move(what));
}

uint64_t LoadGenerator::servedBy(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = backends_.find(name);
  return it == backends_.end() ? 0 : it->second.served;
}

std::optional<Clock::time_point> LoadGenerator::lastSentTo(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = backends_.find(name);
  if (it == backends_.end()) return std::nullopt;
  return it->second.last_sent;
}

std::string LoadGenerator::failureSummary() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const std::string& failure : failures_) absl::StrAppend(&out, failure, "; ");
  return out;
}

bool LoadGenerator::waitForMore(uint64_t count, milliseconds timeout) const {
  const uint64_t target = served() + count;
  return waitUntil([&] { return served() >= target; }, timeout);
}

bool LoadGenerator::waitForMoreFrom(const std::string& name, uint64_t count,
                                    milliseconds timeout) const {
  const uint64_t target = servedBy(name) + count;
  return waitUntil([&] { return servedBy(name) >= target; }, timeout);
}

// --- AdminProxyTest --------------------------------------------------------------------------

void AdminProxyTest::startProxyWithAdmin(const std::string& toml) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(toml));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
}

void AdminProxyTest::learnAdminPort() {
  absl::StatusOr<uint16_t> port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(port.ok()) << port.status();
  admin_port_ = *port;
}

AdminResult AdminProxyTest::admin(std::string_view method, std::string_view target,
                                  const Headers& headers) {
  AdminResult result =
      adminCall(admin_port_, method, target, headers.empty() ? admin_headers_ : headers);
  if (result.status == 0) ADD_FAILURE() << result.error;
  return result;
}

nlohmann::json AdminProxyTest::status() {
  AdminResult result = admin("GET", "/admin/status");
  EXPECT_EQ(result.status, 200) << result.body.dump();
  return result.status == 200 ? result.body : nlohmann::json();
}

std::vector<nlohmann::json> AdminProxyTest::poolBackends(std::string_view pool) {
  std::vector<nlohmann::json> backends;
  // Held in a variable: a range-for over status()["pools"] would read a destroyed temporary.
  const nlohmann::json now = status();
  if (!now.contains("pools")) return backends;
  for (const nlohmann::json& entry : now["pools"]) {
    if (entry["name"] != pool) continue;
    for (const nlohmann::json& b : entry["backends"]) backends.push_back(b);
  }
  return backends;
}

std::vector<std::string> AdminProxyTest::poolAddresses(std::string_view pool) {
  std::vector<std::string> addresses;
  for (const nlohmann::json& b : poolBackends(pool)) addresses.push_back(b["address"]);
  return addresses;
}

nlohmann::json AdminProxyTest::backend(std::string_view pool, size_t index) {
  return backendStatus(status(), pool, localAddress(backendPort(index)));
}

bool AdminProxyTest::waitForBackend(std::string_view pool, size_t index,
                                    const std::function<bool(const nlohmann::json&)>& predicate,
                                    milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const nlohmann::json state = backend(pool, index);
    if (!state.is_null() && predicate(state)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void AdminProxyTest::killBackend(size_t index) {
  DemoBackendProcess& target = *backends_.at(index);
  ASSERT_NE(target.process, nullptr);
  target.process->signal(SIGKILL);
  const std::optional<int> code = target.process->waitExit(std::chrono::seconds(5));
  ASSERT_EQ(code, std::optional<int>(128 + SIGKILL));
  target.process.reset();
}

}  // namespace sy::testing
