// Traffic mirroring (shadow deployments) against real processes: the primary never waits for
// the shadow, the shadow gets faithful copies (head and body), the share and the filters hold,
// a dead, slow or stuck shadow costs no primary request and no unbounded memory, the admin API
// and reloads change mirroring as documented, and the access log marks mirrored requests.
//
// The shadow is a demo backend started with --log-requests: it logs one `request_received`
// line per complete request (method, target, headers, body size and SHA-256), which is what
// these tests compare with what the client sent.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/digest.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sizes.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kSent[] = "sent";
constexpr char kDropped[] = "dropped";
constexpr char kFailed[] = "failed";

// Pools "primary" (one backend) and "shadow" (`shadow_backends`, a TOML array), and route "web"
// to primary with `route_extra` (TOML lines of the route table, e.g. its mirror); `tail` is
// appended to the file.
std::string mirrorConfig(uint16_t primary, const std::string& shadow_backends,
                         const std::string& route_extra, const std::string& tail = "",
                         int workers = 2) {
  return absl::StrCat("[server]\nworkers = ", workers,
                      "\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n"
                      "[[pools]]\nname = \"primary\"\nbackends = [\"127.0.0.1:",
                      primary, "\"]\n\n[[pools]]\nname = \"shadow\"\nbackends = ", shadow_backends,
                      "\n\n[[routes]]\nname = \"web\"\npool = \"primary\"\n", route_extra, "\n",
                      tail);
}

// The sum of the samples of `name` whose labels include `labels`, in Prometheus text.
double metricSum(const std::string& text, std::string_view name,
                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || std::string_view(line).substr(0, name_end) != name) {
      continue;
    }
    std::map<std::string, std::string> found;
    size_t value_start = name_end + 1;
    if (line[name_end] == '{') {
      const size_t close = line.find('}', name_end);
      if (close == std::string::npos) continue;
      // key="value",key="value" (the values here hold no quotes or commas).
      std::string_view rest = std::string_view(line).substr(name_end + 1, close - name_end - 1);
      while (!rest.empty()) {
        const size_t eq = rest.find("=\"");
        const size_t end = rest.find('"', eq + 2);
        if (eq == std::string_view::npos || end == std::string_view::npos) break;
        found[std::string(rest.substr(0, eq))] = std::string(rest.substr(eq + 2, end - eq - 2));
        rest.remove_prefix(std::min(rest.size(), end + 2));  // past the quote and the comma
      }
      value_start = close + 2;
    }
    bool match = true;
    for (const auto& [key, value] : labels) {
      const auto it = found.find(key);
      match = match && it != found.end() && it->second == value;
    }
    double value = 0;
    if (match && value_start < line.size() && absl::SimpleAtod(line.substr(value_start), &value)) {
      sum += value;
    }
  }
  return sum;
}

// The shadow's --log-requests lines, read as they come.
class RequestLog {
 public:
  explicit RequestLog(ChildProcess* process) : process_(process) {}

  // Waits up to `timeout` until `done` holds for the events logged so far; false on timeout.
  bool waitFor(const std::function<bool(const std::vector<nlohmann::json>&)>& done,
               milliseconds timeout = milliseconds(10000)) {
    if (done(events_)) return true;
    return process_
        ->waitForLine(
            [&](const std::string& line) {
              ++next_line_;
              std::optional<nlohmann::json> json = parseJsonLogLine(line);
              if (!json.has_value() || (*json)["event"] != "request_received") return false;
              events_.push_back(std::move(*json));
              return done(events_);
            },
            timeout, next_line_)
        .has_value();
  }
  // Waits for the first event with this target; nullopt on timeout.
  std::optional<nlohmann::json> waitForTarget(const std::string& target,
                                              milliseconds timeout = milliseconds(10000)) {
    std::optional<nlohmann::json> found;
    waitFor(
        [&](const std::vector<nlohmann::json>& events) {
          found = withTarget(events, target);
          return found.has_value();
        },
        timeout);
    return found;
  }
  // The events so far (after a short wait for lines in transit).
  const std::vector<nlohmann::json>& settle(milliseconds wait = milliseconds(200)) {
    waitFor([](const std::vector<nlohmann::json>&) { return false; }, wait);
    return events_;
  }
  const std::vector<nlohmann::json>& events() const { return events_; }

  static std::optional<nlohmann::json> withTarget(const std::vector<nlohmann::json>& events,
                                                  const std::string& target) {
    for (const nlohmann::json& event : events) {
      if (event["target"] == target) return event;
    }
    return std::nullopt;
  }

 private:
  ChildProcess* process_;
  size_t next_line_ = 0;
  std::vector<nlohmann::json> events_;
};

// The values of header `name` in a request_received event (same layout as /echo's).
std::vector<std::string> loggedHeader(const nlohmann::json& event, std::string_view name) {
  return echoedHeader(event, name);
}

// A TCP listener that accepts connections and never reads from them: the slowest shadow there
// is. Its small receive buffer (inherited by the accepted sockets) keeps the kernel from
// absorbing what the proxy sends, so unsent bytes pile up on the proxy's side.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(fd_, 1024) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
    thread_ = std::thread([this] { acceptLoop(); });
  }
  ~BlackHole() {
    stop_.store(true);
    thread_.join();
    for (int fd : accepted_) ::close(fd);
    ::close(fd_);
  }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  uint16_t port() const { return port_; }
  size_t accepted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return accepted_.size();
  }

 private:
  void acceptLoop() {
    while (!stop_.load()) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      for (;;) {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;
        std::lock_guard<std::mutex> lock(mutex_);
        accepted_.push_back(fd);
      }
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<int> accepted_;
  std::thread thread_;
};

// Sends `body` as chunks of at most `chunk` bytes and the last chunk, after a head with
// Transfer-Encoding: chunked.
bool sendChunks(HttpClient& client, std::string_view body, size_t chunk) {
  for (size_t at = 0; at < body.size(); at += chunk) {
    const std::string_view piece = body.substr(at, chunk);
    char header[32];
    std::snprintf(header, sizeof header, "%zx\r\n", piece.size());
    if (!client.sendRaw(header) || !client.sendRaw(piece) || !client.sendRaw("\r\n")) return false;
  }
  return client.sendRaw("0\r\n\r\n");
}

struct LatencySummary {
  size_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

LatencySummary summarize(std::vector<double> samples) {
  LatencySummary out;
  out.count = samples.size();
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  double total = 0;
  for (double ms : samples) total += ms;
  out.mean_ms = total / static_cast<double>(samples.size());
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()))];
  };
  out.p50_ms = at(0.50);
  out.p95_ms = at(0.95);
  out.p99_ms = at(0.99);
  return out;
}

std::string describe(const LatencySummary& s) {
  char text[160];
  std::snprintf(text, sizeof text,
                "%zu requests, mean %.3f ms, p50 %.3f ms, p95 %.3f ms, p99 %.3f ms", s.count,
                s.mean_ms, s.p50_ms, s.p95_ms, s.p99_ms);
  return text;
}

class MirrorTest : public AdminProxyTest {
 protected:
  // Starts backend "primary", then backend "shadow" with `shadow_args`, then the proxy with
  // mirrorConfig(); the shadow is backends_[1].
  void startPair(const std::vector<std::string>& shadow_args, const std::string& route_extra,
                 const std::string& tail = "", int workers = 2,
                 const ChildProcess::Env& proxy_env = {}) {
    ASSERT_NO_FATAL_FAILURE(startBackend("primary"));
    ASSERT_NO_FATAL_FAILURE(startBackend("shadow", shadow_args));
    config_ =
        mirrorConfig(backendPort(0), backendList({backendPort(1)}), route_extra, tail, workers);
    ASSERT_NO_FATAL_FAILURE(startProxyToml(config_, proxy_env));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }

  // POST /admin/mirror?QUERY, expecting 200.
  void setMirror(const std::string& query) {
    const AdminResult result = admin("POST", "/admin/mirror?" + query);
    ASSERT_EQ(result.status, 200) << query << " -> " << result.text();
  }

  // The route "web" in /admin/status.
  nlohmann::json webRoute() {
    const AdminResult status = admin("GET", "/admin/status");
    EXPECT_EQ(status.status, 200);
    for (const nlohmann::json& route : status.body["routes"]) {
      if (route["name"] == "web") return route;
    }
    ADD_FAILURE() << "no route web in " << status.text();
    return nlohmann::json();
  }

  std::string metrics() {
    const AdminResult result = admin("GET", "/metrics");
    EXPECT_EQ(result.status, 200);
    return result.text();
  }
  // switchyard_mirror_requests_total{route="web",pool="shadow",result=...}
  uint64_t mirrorCount(const std::string& text, const char* result) {
    return static_cast<uint64_t>(
        metricSum(text, "switchyard_mirror_requests_total",
                  {{"route", "web"}, {"pool", "shadow"}, {"result", result}}));
  }
  uint64_t mirrorCount(const char* result) { return mirrorCount(metrics(), result); }
  uint64_t mirrorResponses(const std::string& text, const char* status_class) {
    return static_cast<uint64_t>(
        metricSum(text, "switchyard_mirror_responses_total",
                  {{"route", "web"}, {"pool", "shadow"}, {"class", status_class}}));
  }

  // Requests that reached the shadow (request heads), from its /control/stats.
  uint64_t shadowRequests() { return stats(1).requests; }

  std::string config_;
};

// ---- 1. The primary never waits for the shadow ------------------------------------------------

// Paced keep-alive clients: each sends GET / every `period` for `duration` (a latency
// measurement, not a throughput one: the proxy is not saturated, so a request takes what the
// proxy and the backend need for it and nothing else). Returns the latency of each request.
std::vector<double> pacedLoad(uint16_t port, int clients, milliseconds duration,
                              microseconds period, std::atomic<uint64_t>* failures,
                              std::string* why) {
  std::vector<std::vector<double>> per_client(static_cast<size_t>(clients));
  std::mutex why_mutex;
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now() + milliseconds(20);
  const Clock::time_point end = start + duration;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double>& latencies = per_client[static_cast<size_t>(c)];
      HttpClient client(milliseconds(5000));
      auto fail = [&](const std::string& message) {
        failures->fetch_add(1);
        std::lock_guard<std::mutex> lock(why_mutex);
        *why = message;
      };
      if (!client.connect(port)) return fail(client.lastError());
      // Spread the clients over the period.
      Clock::time_point next = start + period * c / clients;
      while (next < end) {
        std::this_thread::sleep_until(next);
        const Clock::time_point sent = Clock::now();
        std::optional<Response> response = client.request("GET", "/");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        if (!response.has_value() || response->status != 200 || response->body != "primary\n") {
          fail(response.has_value() ? absl::StrCat("status ", response->status)
                                    : client.lastError());
          if (!client.connect(port)) return;
        } else {
          latencies.push_back(ms);
        }
        // A late client does not burst to catch up: it keeps the period from now.
        next = std::max(next + period, Clock::now());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<double> all;
  for (const auto& latencies : per_client)
    all.insert(all.end(), latencies.begin(), latencies.end());
  return all;
}

// With every request copied to a shadow that takes 2 s to answer, primary latency stays what it
// is without mirroring. Both are measured in this test, on the same proxy, in alternating phases
// (mirroring switched on and off with the admin API between them) so that the load the rest of
// the machine puts on the two cores falls on both sides alike.
//
// The bound: mirrored p50 and p95 within 10% of the unmirrored ones, plus 1 ms. The absolute
// floor is there because loopback latencies are a fraction of a millisecond, where 10% is a few
// microseconds of scheduling noise; 1 ms is still far below anything a wait for the shadow
// (2 s) or for its connection would cost.
//
// The machine is shared (2 cores, load averages of 10 and more): a burst of someone else's work
// can still land on one side. So a measurement that misses the bound is taken again, up to three
// times in all, and the test fails only when all three miss. A primary that waited for the
// shadow misses every time: even 1% of requests waiting 2 s puts p95 tens of milliseconds out.
//
// The mirror runs with its default caps: with max_in_flight raised to 400, some 700 new shadow
// connections a second (CPU in the proxy and in the shadow process, on the same two cores as
// everything else) moved p95 by up to 6 ms on a machine at load 12. That is shared CPU, not
// waiting, and it is what the caps are for.
TEST_F(MirrorTest, PrimaryLatencyIsUnaffectedByASlowShadow) {
  ASSERT_NO_FATAL_FAILURE(
      startPair({"--delay", "2s"},
                // The default caps: with copies in flight for 2 s, max_in_flight (100 per worker)
                // is reached at once and most copies are dropped, as they would be in production.
                "mirror = { pool = \"shadow\", percent = 0 }\n"));
  constexpr int kClients = 4;
  constexpr microseconds kPeriod{2000};  // 500 requests per second per client
  // Many short phases: a burst of load from elsewhere on the machine falls on both sides.
  constexpr int kRounds = 8;
  constexpr milliseconds kPhase{300};
  constexpr double kFloorMs = 1.0;
  constexpr int kAttempts = 3;
  std::atomic<uint64_t> failures{0};
  std::string why;
  // Warm-up: connections to the primary, the allocator, the page cache.
  pacedLoad(port(), kClients, milliseconds(200), kPeriod, &failures, &why);
  LatencySummary base;
  LatencySummary mirrored;
  uint64_t sent = 0;
  uint64_t dropped = 0;
  bool within = false;
  for (int attempt = 1; attempt <= kAttempts && !within; ++attempt) {
    std::vector<double> without;
    std::vector<double> with;
    sent = 0;
    dropped = 0;
    for (int round = 0; round < kRounds; ++round) {
      ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=0"));
      std::vector<double> off = pacedLoad(port(), kClients, kPhase, kPeriod, &failures, &why);
      without.insert(without.end(), off.begin(), off.end());
      ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
      // Counted per phase: the counters run on over the whole test.
      std::string text = metrics();
      const uint64_t sent_before = mirrorCount(text, kSent);
      const uint64_t dropped_before = mirrorCount(text, kDropped);
      std::vector<double> on = pacedLoad(port(), kClients, kPhase, kPeriod, &failures, &why);
      with.insert(with.end(), on.begin(), on.end());
      text = metrics();
      sent += mirrorCount(text, kSent) - sent_before;
      dropped += mirrorCount(text, kDropped) - dropped_before;
    }
    ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=0"));
    base = summarize(without);
    mirrored = summarize(with);
    within = mirrored.p50_ms <= base.p50_ms * 1.10 + kFloorMs &&
             mirrored.p95_ms <= base.p95_ms * 1.10 + kFloorMs;
    std::printf(
        "attempt %d: without mirroring: %s\n"
        "           with 100%% mirroring to a 2 s shadow: %s\n"
        "           copies: %lu sent, %lu dropped (max_in_flight); %s\n",
        attempt, describe(base).c_str(), describe(mirrored).c_str(),
        static_cast<unsigned long>(sent), static_cast<unsigned long>(dropped),
        within ? "within the bound" : "outside the bound");
  }

  EXPECT_EQ(failures.load(), 0u) << why;
  ASSERT_GT(base.count, 1000u);
  ASSERT_GT(mirrored.count, 1000u);
  // The copies really went out and reached the slow shadow (at least one worker's in-flight
  // cap of them), and the cap dropped the rest.
  EXPECT_GE(sent, 100u);
  EXPECT_GE(shadowRequests(), 100u);
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(mirrored.p50_ms, base.p50_ms * 1.10 + kFloorMs)
      << describe(base) << " vs " << describe(mirrored);
  EXPECT_LE(mirrored.p95_ms, base.p95_ms * 1.10 + kFloorMs)
      << describe(base) << " vs " << describe(mirrored);
}

// On one keep-alive connection, each request is answered as soon as the primary answers: the
// next one never waits for the shadow's answer to the previous copy.
TEST_F(MirrorTest, ConsecutiveRequestsOnOneConnectionDoNotWaitForTheShadow) {
  ASSERT_NO_FATAL_FAILURE(
      startPair({"--delay", "2s"},
                "mirror = { pool = \"shadow\", percent = 100, max_body_bytes = 1048576 }\n"));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(64 * 1024);
  const Clock::time_point started = Clock::now();
  long slowest = 0;
  for (int i = 0; i < 20; ++i) {
    const Clock::time_point sent = Clock::now();
    std::optional<Response> response =
        i % 2 == 0 ? client.request("GET", absl::StrCat("/get/", i))
                   : client.request("POST", absl::StrCat("/echo?n=", i), {}, body);
    const long ms = elapsedMs(sent);
    slowest = std::max(slowest, ms);
    ASSERT_TRUE(response.has_value()) << client.lastError();
    ASSERT_EQ(response->status, 200);
    // A wait for the shadow would take 2 s; the bound leaves room for a loaded machine.
    EXPECT_LT(ms, 500) << "request " << i;
  }
  const long total = elapsedMs(started);
  EXPECT_LT(total, 2000) << "20 requests on one connection";
  std::printf("20 mirrored requests on one keep-alive connection: %ld ms, slowest %ld ms\n", total,
              slowest);
  // Every one of them was copied.
  EXPECT_TRUE(waitUntil([&] { return shadowRequests() >= 20; }, std::chrono::seconds(5)));
  EXPECT_EQ(mirrorCount(kSent), 20u);
}

// ---- 2. What the shadow receives ----------------------------------------------------------------

class MirrorCopyTest : public MirrorTest {
 protected:
  void SetUp() override {
    // Content, not pacing, is under test here: the buffer cap is set above the largest body so
    // that a shadow scheduled late on a busy machine does not get its copy dropped.
    ASSERT_NO_FATAL_FAILURE(startPair({"--log-requests"},
                                      "mirror = { pool = \"shadow\", percent = 100, "
                                      "host_suffix = \".shadow\", max_body_bytes = 33554432, "
                                      "max_buffer_bytes = 33554432 }\n"));
  }
};

TEST_F(MirrorCopyTest, ShadowGetsMethodTargetAndHeaders) {
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> response = client.request("GET", "/echo?q=1&r=two",
                                                    {{"Host", "app.test"},
                                                     {"X-Trace", "t-1"},
                                                     {"X-Forwarded-For", "10.1.2.3"},
                                                     {"Cookie", "session=abc"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  ASSERT_EQ(response->status, 200);
  const std::optional<nlohmann::json> primary = parseJson(response->body);
  ASSERT_TRUE(primary.has_value()) << response->body;

  const std::optional<nlohmann::json> copy = shadow.waitForTarget("/echo?q=1&r=two");
  ASSERT_TRUE(copy.has_value()) << backends_[1]->process->output();
  EXPECT_EQ((*copy)["method"], "GET");
  EXPECT_EQ((*copy)["version"], "1.1");
  EXPECT_THAT(loggedHeader(*copy, "X-Switchyard-Mirror"), ElementsAre("1"));
  EXPECT_THAT(loggedHeader(*copy, "Host"), ElementsAre("app.test.shadow"));
  EXPECT_THAT(loggedHeader(*copy, "X-Forwarded-For"), ElementsAre("10.1.2.3, 127.0.0.1"));
  EXPECT_THAT(loggedHeader(*copy, "X-Real-IP"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(loggedHeader(*copy, "X-Trace"), ElementsAre("t-1"));
  EXPECT_THAT(loggedHeader(*copy, "Cookie"), ElementsAre("session=abc"));
  EXPECT_EQ((*copy)["body_bytes"], 0);

  // The primary gets the request as without mirroring: its own Host, no mirror marker, and the
  // same forwarding headers.
  EXPECT_THAT(echoedHeader(*primary, "Host"), ElementsAre("app.test"));
  EXPECT_THAT(echoedHeader(*primary, "X-Switchyard-Mirror"), IsEmpty());
  EXPECT_THAT(echoedHeader(*primary, "X-Forwarded-For"), ElementsAre("10.1.2.3, 127.0.0.1"));
  EXPECT_THAT(echoedHeader(*primary, "X-Trace"), ElementsAre("t-1"));

  // Other methods are copied as they are.
  for (const char* method : {"DELETE", "OPTIONS", "PATCH"}) {
    const std::string target = absl::StrCat("/method/", method);
    response = client.request(method, target, {}, method == std::string("PATCH") ? "x=1" : "");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    const std::optional<nlohmann::json> event = shadow.waitForTarget(target);
    ASSERT_TRUE(event.has_value()) << target;
    EXPECT_EQ((*event)["method"], method);
  }
}

TEST_F(MirrorCopyTest, ShadowGetsTheWhole10MiBBody) {
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(10 * kMiB, 42);
  const std::string digest = sha256Hex(body);
  std::optional<Response> response = client.request(
      "POST", "/echo?upload=big", {{"Content-Type", "application/octet-stream"}}, body);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  ASSERT_EQ(response->status, 200);
  const std::optional<nlohmann::json> primary = parseJson(response->body);
  ASSERT_TRUE(primary.has_value()) << response->body;
  EXPECT_EQ((*primary)["body_sha256"], digest);

  const std::optional<nlohmann::json> copy = shadow.waitForTarget("/echo?upload=big");
  ASSERT_TRUE(copy.has_value()) << "metrics:\n" << metrics();
  EXPECT_EQ((*copy)["method"], "POST");
  EXPECT_EQ((*copy)["body_bytes"], body.size());
  EXPECT_EQ((*copy)["body_sha256"], digest);
  EXPECT_THAT(loggedHeader(*copy, "Content-Length"), ElementsAre(std::to_string(body.size())));
  EXPECT_THAT(loggedHeader(*copy, "Content-Type"), ElementsAre("application/octet-stream"));
  EXPECT_THAT(loggedHeader(*copy, "X-Switchyard-Mirror"), ElementsAre("1"));
  EXPECT_TRUE(
      waitUntil([&] { return mirrorResponses(metrics(), "2xx") == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(mirrorCount(kDropped), 0u);
  EXPECT_EQ(mirrorCount(kFailed), 0u);
}

TEST_F(MirrorCopyTest, ShadowGetsTheWholeChunkedUpload) {
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(6 * kMiB + 12345, 7);
  const std::string digest = sha256Hex(body);
  // With Expect: 100-continue, which the proxy answers itself and leaves out of the copy.
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("PUT", "/echo?upload=chunked",
                          {{"Transfer-Encoding", "chunked"}, {"Expect", "100-continue"}})));
  std::optional<Response> interim = client.readResponse();
  ASSERT_TRUE(interim.has_value()) << client.lastError();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(sendChunks(client, body, 300000)) << client.lastError();
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  ASSERT_EQ(response->status, 200);
  const std::optional<nlohmann::json> primary = parseJson(response->body);
  ASSERT_TRUE(primary.has_value()) << response->body;
  EXPECT_EQ((*primary)["body_sha256"], digest);

  const std::optional<nlohmann::json> copy = shadow.waitForTarget("/echo?upload=chunked");
  ASSERT_TRUE(copy.has_value()) << "metrics:\n" << metrics();
  EXPECT_EQ((*copy)["method"], "PUT");
  EXPECT_EQ((*copy)["body_bytes"], body.size());
  EXPECT_EQ((*copy)["body_sha256"], digest);
  EXPECT_THAT(loggedHeader(*copy, "Transfer-Encoding"), ElementsAre("chunked"));
  EXPECT_THAT(loggedHeader(*copy, "Expect"), IsEmpty());
  EXPECT_THAT(loggedHeader(*copy, "Content-Length"), IsEmpty());

  // The connection goes on: the next request is copied too.
  response = client.request("GET", "/after-chunked");
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_TRUE(shadow.waitForTarget("/after-chunked").has_value());
}

// Clients cannot forge the mirror marker: a client's own "X-Switchyard-Mirror" would make the
// primary take a real request for a copy, and give the copy the header twice.
TEST_F(MirrorCopyTest, ClientCannotForgeTheMirrorHeader) {
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> response =
      client.request("GET", "/echo?forged", {{"X-Switchyard-Mirror", "0"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> primary = parseJson(response->body);
  ASSERT_TRUE(primary.has_value()) << response->body;
  EXPECT_THAT(echoedHeader(*primary, "X-Switchyard-Mirror"), IsEmpty());
  const std::optional<nlohmann::json> copy = shadow.waitForTarget("/echo?forged");
  ASSERT_TRUE(copy.has_value());
  EXPECT_THAT(loggedHeader(*copy, "X-Switchyard-Mirror"), ElementsAre("1"));
}

// host_suffix goes before the port: "app.test:8080" becomes "app.test.shadow:8080", not the
// invalid "app.test:8080.shadow" (Envoy does the same with its "-shadow").
TEST_F(MirrorCopyTest, HostSuffixGoesBeforeThePort) {
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> response =
      client.request("GET", "/with-port", {{"Host", "app.test:8080"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> copy = shadow.waitForTarget("/with-port");
  ASSERT_TRUE(copy.has_value());
  EXPECT_THAT(loggedHeader(*copy, "Host"), ElementsAre("app.test.shadow:8080"));
}

// A HEAD request's copy is read as an answer without a body: it completes at once instead of
// waiting for a body until its timeout and counting as failed.
TEST_F(MirrorTest, HeadRequestCopiesComplete) {
  ASSERT_NO_FATAL_FAILURE(startPair(
      {"--log-requests"}, "mirror = { pool = \"shadow\", percent = 100, timeout = \"3s\" }\n"));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("HEAD", "/head")));
  std::optional<Response> response = client.readResponse(/*head_request=*/true);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  RequestLog shadow(backends_[1]->process.get());
  ASSERT_TRUE(shadow.waitForTarget("/head").has_value());  // it reached the shadow
  // The shadow answered at once: the copy completes well before its timeout.
  EXPECT_TRUE(
      waitUntil([&] { return mirrorResponses(metrics(), "2xx") == 1; }, std::chrono::seconds(2)))
      << metrics();
  EXPECT_EQ(mirrorCount(kFailed), 0u);
}

// ---- 3. The share -----------------------------------------------------------------------------

TEST_F(MirrorTest, TenPercentOf5000RequestsLandsWithinTwoPoints) {
  ASSERT_NO_FATAL_FAILURE(startPair({}, "mirror = { pool = \"shadow\", percent = 10 }\n"));
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<HttpClient>());
    ASSERT_NO_FATAL_FAILURE(connect(clients.back().get()));
  }
  constexpr int kRequests = 5000;
  int served = 0;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<Response> response = clients[static_cast<size_t>(i % 4)]->request("GET", "/");
    if (response.has_value() && response->status == 200 && response->body == "primary\n") ++served;
  }
  EXPECT_EQ(served, kRequests);
  // Every copy that was sent reaches the shadow (it is fast and up): wait for the last ones.
  uint64_t sent = 0;
  EXPECT_TRUE(waitUntil(
      [&] {
        sent = mirrorCount(kSent);
        return sent > 0 && shadowRequests() == sent;
      },
      std::chrono::seconds(10)))
      << "sent " << sent << ", shadow saw " << shadowRequests();
  const std::string text = metrics();
  const double share = 100.0 * static_cast<double>(shadowRequests()) / kRequests;
  std::printf("10%% mirroring: %lu of %d requests copied (%.2f%%)\n",
              static_cast<unsigned long>(sent), kRequests, share);
  EXPECT_NEAR(share, 10.0, 2.0);
  EXPECT_EQ(mirrorCount(text, kDropped), 0u);
  EXPECT_EQ(mirrorCount(text, kFailed), 0u);
  EXPECT_TRUE(waitUntil([&] { return mirrorResponses(metrics(), "2xx") == sent; },
                        std::chrono::seconds(5)));
  EXPECT_EQ(metricSum(metrics(), "switchyard_mirror_duration_seconds_count",
                      {{"route", "web"}, {"pool", "shadow"}}),
            static_cast<double>(sent));
}

TEST_F(MirrorTest, StickyKeyMirrorsAUserAlwaysOrNever) {
  ASSERT_NO_FATAL_FAILURE(
      startPair({"--log-requests"},
                "sticky = \"header:x-user\"\nmirror = { pool = \"shadow\", percent = 10 }\n"));
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  constexpr int kUsers = 400;
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    for (int user = 0; user < kUsers; ++user) {
      std::optional<Response> response =
          client.request("GET", "/", {{"X-User", absl::StrCat("user-", user)}});
      ASSERT_TRUE(response.has_value() && response->status == 200) << client.lastError();
    }
  }
  // A copy is counted as sent when it starts, before the primary is even asked: the count is
  // final once every answer is in. Wait for the shadow to have them all.
  const uint64_t sent = mirrorCount(kSent);
  ASSERT_TRUE(shadow.waitFor([&](const std::vector<nlohmann::json>& events) {
    return events.size() >= sent;
  })) << "sent "
      << sent << ", logged " << shadow.events().size();
  std::map<std::string, int> copies_per_user;
  for (const nlohmann::json& event : shadow.settle()) {
    const std::vector<std::string> user = loggedHeader(event, "X-User");
    ASSERT_EQ(user.size(), 1u) << event.dump();
    ++copies_per_user[user[0]];
  }
  for (const auto& [user, copies] : copies_per_user) {
    EXPECT_EQ(copies, kRounds) << user << " was mirrored on some requests only";
  }
  const double share = 100.0 * static_cast<double>(copies_per_user.size()) / kUsers;
  std::printf("sticky 10%% mirroring: %zu of %d users mirrored (%.1f%%), each on all %d rounds\n",
              copies_per_user.size(), kUsers, share, kRounds);
  EXPECT_NEAR(share, 10.0, 5.0);
}

// ---- 4. A dead, slow or stuck shadow ----------------------------------------------------------

// Runs `requests` GETs on `clients` keep-alive connections; returns how many failed.
int getLoad(uint16_t port, int clients, int requests, std::string* why) {
  std::atomic<int> failed{0};
  std::atomic<int> next{0};
  std::mutex why_mutex;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      HttpClient client(milliseconds(5000));
      bool connected = client.connect(port);
      while (next.fetch_add(1) < requests) {
        std::optional<Response> response;
        if (connected) response = client.request("GET", "/");
        if (!response.has_value() || response->status != 200 || response->body != "primary\n") {
          failed.fetch_add(1);
          std::lock_guard<std::mutex> lock(why_mutex);
          *why =
              response.has_value() ? absl::StrCat("status ", response->status) : client.lastError();
          connected = client.connect(port);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return failed.load();
}

TEST_F(MirrorTest, ShadowPoolDownCostsNoPrimaryRequest) {
  ASSERT_NO_FATAL_FAILURE(startBackend("primary"));
  config_ = mirrorConfig(backendPort(0), backendList({refusingPort()}),
                         "mirror = { pool = \"shadow\", percent = 100 }\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  constexpr int kRequests = 1000;
  std::string why;
  EXPECT_EQ(getLoad(port(), 4, kRequests, &why), 0) << why;
  // Every copy is accounted for: failed (connection refused) or dropped (no usable backend).
  std::string text;
  EXPECT_TRUE(waitUntil(
      [&] {
        text = metrics();
        return mirrorCount(text, kFailed) + mirrorCount(text, kDropped) == kRequests;
      },
      std::chrono::seconds(5)))
      << text;
  std::printf("shadow down: %lu failed, %lu dropped, %d primary requests all answered\n",
              static_cast<unsigned long>(mirrorCount(text, kFailed)),
              static_cast<unsigned long>(mirrorCount(text, kDropped)), kRequests);
  EXPECT_GT(mirrorCount(text, kFailed), 0u);
  EXPECT_EQ(mirrorResponses(text, "2xx"), 0u);
}

TEST_F(MirrorTest, SlowShadowCopiesTimeOutAndCountAsFailed) {
  ASSERT_NO_FATAL_FAILURE(startPair(
      {"--delay", "2s"}, "mirror = { pool = \"shadow\", percent = 100, timeout = \"150ms\" }\n"));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  constexpr uint64_t kRequests = 40;
  const Clock::time_point started = Clock::now();
  for (uint64_t i = 0; i < kRequests; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    ASSERT_EQ(response->status, 200);
  }
  EXPECT_LT(elapsedMs(started), 2000) << "the primary waited for the shadow";
  std::string text;
  EXPECT_TRUE(waitUntil(
      [&] {
        text = metrics();
        return mirrorCount(text, kFailed) == kRequests;
      },
      std::chrono::seconds(5)))
      << text;
  EXPECT_EQ(mirrorCount(text, kSent), kRequests);
  EXPECT_EQ(mirrorResponses(text, "2xx"), 0u);
  EXPECT_EQ(shadowRequests(), kRequests);  // they did reach it
}

// A shadow that accepts and never reads, and a burst of large uploads that, copied without caps,
// would leave 128 MiB of unsent bytes in the proxy. With max_buffer_bytes = 256 KiB and
// max_in_flight = 16 (one worker), the copies hold at most 4 MiB at any time: each one is
// dropped once its backlog passes the cap, and the proxy's RSS stays flat.
TEST_F(MirrorTest, StuckShadowKeepsProxyMemoryBounded) {
  BlackHole hole;
  ASSERT_NE(hole.port(), 0);
  ASSERT_NO_FATAL_FAILURE(startBackend("primary"));
  config_ = mirrorConfig(backendPort(0), backendList({hole.port()}),
                         "mirror = { pool = \"shadow\", percent = 100, max_body_bytes = 67108864, "
                         "max_buffer_bytes = 262144, max_in_flight = 16, timeout = \"30s\" }\n",
                         "", /*workers=*/1);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config_, memoryTestEnv()));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());

  constexpr int kClients = 4;
  const std::string body = testBody(4 * kMiB, 3);
  const std::string digest = sha256Hex(body);
  std::atomic<int> failures{0};
  std::atomic<int> uploads{0};
  auto burst = [&](int per_client) {
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&] {
        HttpClient client(milliseconds(20000));
        if (!client.connect(port())) {
          failures.fetch_add(per_client);
          return;
        }
        for (int i = 0; i < per_client; ++i) {
          std::optional<Response> response = client.request("POST", "/echo", {}, body);
          uploads.fetch_add(1);
          const std::optional<nlohmann::json> echo =
              response.has_value() ? parseJson(response->body) : std::nullopt;
          if (!echo.has_value() || (*echo)["body_sha256"] != digest) {
            failures.fetch_add(1);
            if (!client.connect(port())) return;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  };
  burst(1);  // warm-up: buffers and allocator arenas of the steady state
  const long rss_before = proxy_.process->rssKiB();
  ASSERT_GT(rss_before, 0);
  burst(8);
  const long rss_after = proxy_.process->rssKiB();
  const std::string text = metrics();
  const int total = uploads.load();
  std::printf(
      "stuck shadow: %d uploads of 4 MiB, RSS %ld -> %ld KiB, copies %lu sent, %lu "
      "dropped, %zu connections accepted by the stuck shadow\n",
      total, rss_before, rss_after, static_cast<unsigned long>(mirrorCount(text, kSent)),
      static_cast<unsigned long>(mirrorCount(text, kDropped)), hole.accepted());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(total, kClients * 9);
  // Every copy was given up: at the in-flight cap, or when its unsent bytes passed the buffer.
  EXPECT_EQ(mirrorCount(text, kDropped), static_cast<uint64_t>(total));
  EXPECT_EQ(mirrorResponses(text, "2xx"), 0u);
  // With the buffer cap lifted (max_buffer_bytes = 1 GiB, tried once by hand), the 16 copies
  // in flight keep their bodies and RSS grows by about 43 MiB; with it, by well under 1 MiB.
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "KiB before " << rss_before;
}

// ---- 5. Filters, the admin API and reloads ----------------------------------------------------

TEST_F(MirrorTest, MethodsFilterCopiesGetsOnly) {
  ASSERT_NO_FATAL_FAILURE(
      startPair({"--log-requests"},
                "[routes.mirror]\npool = \"shadow\"\npercent = 100\nmethods = [\"GET\"]\n"));
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 5; ++i) {
    for (const std::string method : {"GET", "POST", "PUT", "DELETE", "HEAD"}) {
      const std::string target = absl::StrCat("/m/", method, "/", i);
      std::optional<Response> response;
      if (method == "HEAD") {
        ASSERT_TRUE(client.sendRaw(client.buildRequest(method, target)));
        response = client.readResponse(/*head_request=*/true);
      } else {
        response = client.request(method, target, {}, method == "GET" ? "" : "body");
      }
      ASSERT_TRUE(response.has_value()) << client.lastError();
      ASSERT_EQ(response->status, 200);
    }
  }
  ASSERT_TRUE(client.request("GET", "/m/last").has_value());
  ASSERT_TRUE(shadow.waitForTarget("/m/last").has_value());
  std::vector<std::string> methods;
  for (const nlohmann::json& event : shadow.settle()) methods.push_back(event["method"]);
  EXPECT_EQ(methods.size(), 6u);
  for (const std::string& method : methods) EXPECT_EQ(method, "GET");
  EXPECT_EQ(shadowRequests(), 6u);
  // Filtered requests are not copies: nothing counts them as dropped.
  EXPECT_EQ(mirrorCount(kSent), 6u);
  EXPECT_EQ(mirrorCount(kDropped), 0u);
}

TEST_F(MirrorTest, MaxBodyBytesSkipsLargerBodies) {
  ASSERT_NO_FATAL_FAILURE(
      startPair({"--log-requests"},
                "mirror = { pool = \"shadow\", percent = 100, max_body_bytes = 1000 }\n"));
  RequestLog shadow(backends_[1]->process.get());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Content-Length: decided from the head; at the limit it is copied, above it not.
  const std::string at_limit = testBody(1000, 1);
  std::optional<Response> response = client.request("POST", "/echo?cl=1000", {}, at_limit);
  ASSERT_TRUE(response.has_value() && response->status == 200) << client.lastError();
  response = client.request("POST", "/echo?cl=1001", {}, testBody(1001, 2));
  ASSERT_TRUE(response.has_value() && response->status == 200) << client.lastError();
  // Chunked: the copy starts, and is given up once its body passes the limit.
  for (size_t size : {500, 5000}) {
    const std::string body = testBody(size, 3);
    ASSERT_TRUE(client.sendRaw(client.buildRequest("POST", absl::StrCat("/echo?chunked=", size),
                                                   {{"Transfer-Encoding", "chunked"}})));
    ASSERT_TRUE(sendChunks(client, body, 400)) << client.lastError();
    response = client.readResponse();
    ASSERT_TRUE(response.has_value()) << client.lastError();
    const std::optional<nlohmann::json> echo = parseJson(response->body);
    ASSERT_TRUE(echo.has_value()) << response->body;
    EXPECT_EQ((*echo)["body_sha256"], sha256Hex(body)) << "the primary gets every byte";
  }
  ASSERT_TRUE(client.request("GET", "/last").has_value());
  ASSERT_TRUE(shadow.waitForTarget("/last").has_value());

  std::vector<std::string> targets;
  for (const nlohmann::json& event : shadow.settle()) targets.push_back(event["target"]);
  // Each copy has its own shadow connection: they may be logged in any order.
  EXPECT_THAT(targets, UnorderedElementsAre("/echo?cl=1000", "/echo?chunked=500", "/last"));
  const std::optional<nlohmann::json> copy =
      RequestLog::withTarget(shadow.events(), "/echo?cl=1000");
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ((*copy)["body_sha256"], sha256Hex(at_limit));
  const std::string text = metrics();
  EXPECT_EQ(mirrorCount(text, kDropped), 2u) << "cl=1001 and chunked=5000";
  EXPECT_EQ(mirrorCount(text, kSent), 4u) << "the chunked=5000 copy was started";
}

class MirrorAdminTest : public MirrorTest {
 protected:
  // The file names the shadow with percent 0: the route has mirror settings (here, its own
  // header) but mirrors nothing until the admin API says so.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(
        startPair({"--log-requests"},
                  "mirror = { pool = \"shadow\", percent = 0, header = \"X-Shadow\" }\n"));
    shadow_ = std::make_unique<RequestLog>(backends_[1]->process.get());
    ASSERT_NO_FATAL_FAILURE(connect(&client_));
  }

  // Sends GET `target` and reports whether the shadow got a copy of it.
  bool mirrored(const std::string& target) {
    std::optional<Response> response = client_.request("GET", target);
    EXPECT_TRUE(response.has_value() && response->status == 200) << client_.lastError();
    const std::optional<nlohmann::json> copy = shadow_->waitForTarget(target, milliseconds(2000));
    return copy.has_value();
  }
  bool notMirrored(const std::string& target) {
    // A copy is counted as sent before the request goes to the primary: no new count once the
    // answer is in means no copy, whatever the shadow's log still has in transit.
    const uint64_t sent_before = mirrorCount(kSent);
    std::optional<Response> response = client_.request("GET", target);
    EXPECT_TRUE(response.has_value() && response->status == 200) << client_.lastError();
    return mirrorCount(kSent) == sent_before &&
           !RequestLog::withTarget(shadow_->settle(milliseconds(300)), target).has_value();
  }

  std::unique_ptr<RequestLog> shadow_;
  HttpClient client_;
};

TEST_F(MirrorAdminTest, OnOffAndPercentApplyToTheNextRequest) {
  EXPECT_TRUE(webRoute()["mirror"].is_null());
  EXPECT_TRUE(notMirrored("/r/0"));

  const AdminResult on = admin("POST", "/admin/mirror?pool=shadow&percent=100");
  ASSERT_EQ(on.status, 200) << on.text();
  EXPECT_EQ(on.body["mirror_pool"], "shadow");
  EXPECT_EQ(on.body["mirror_percent"], 100.0);
  EXPECT_TRUE(mirrored("/r/1"));
  // The file's settings of the route's mirror apply to what the admin API starts.
  const std::optional<nlohmann::json> copy = RequestLog::withTarget(shadow_->events(), "/r/1");
  ASSERT_TRUE(copy.has_value());
  EXPECT_THAT(loggedHeader(*copy, "X-Shadow"), ElementsAre("1"));
  EXPECT_THAT(loggedHeader(*copy, "X-Switchyard-Mirror"), IsEmpty());
  const nlohmann::json route = webRoute();
  EXPECT_EQ(route["mirror"]["pool"], "shadow");
  EXPECT_EQ(route["mirror"]["percent"], 100.0);
  EXPECT_EQ(mirrorCount(kSent), 1u);

  ASSERT_NO_FATAL_FAILURE(setMirror("percent=0"));  // the pool may be left out to stop
  EXPECT_TRUE(webRoute()["mirror"].is_null());
  EXPECT_TRUE(notMirrored("/r/2"));
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
  EXPECT_TRUE(mirrored("/r/3"));

  // A share in between: about half of 400 requests.
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=50&route=web"));
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(client_.request("GET", "/half").has_value());
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
  EXPECT_TRUE(mirrored("/r/4"));  // sent after every /half copy
  size_t half = 0;
  for (const nlohmann::json& event : shadow_->settle()) half += event["target"] == "/half" ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(half), 200.0, 50.0);

  // Decimals.
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=0.5"));
  EXPECT_EQ(webRoute()["mirror"]["percent"], 0.5);
}

// Mirror counters are kept per (route, pool) while both exist: stopping and restarting a mirror
// continues the same series, so increase() over a stop/start counts every copy.
TEST_F(MirrorAdminTest, CountersSurviveStoppingAndRestarting) {
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
  EXPECT_TRUE(mirrored("/c/1"));
  EXPECT_TRUE(
      waitUntil([&] { return mirrorResponses(metrics(), "2xx") == 1; }, std::chrono::seconds(5)));
  ASSERT_NO_FATAL_FAILURE(setMirror("percent=0"));
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
  EXPECT_TRUE(mirrored("/c/2"));
  EXPECT_TRUE(
      waitUntil([&] { return mirrorResponses(metrics(), "2xx") == 2; }, std::chrono::seconds(5)));
  EXPECT_EQ(mirrorCount(kSent), 2u);
}

TEST_F(MirrorAdminTest, InvalidCallsChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=25"));
  const nlohmann::json before = webRoute();
  struct Call {
    const char* method;
    const char* target;
    int status;
  } calls[] = {
      {"POST", "/admin/mirror?pool=purple&percent=10", 404},
      {"POST", "/admin/mirror?pool=shadow&percent=10&route=nope", 404},
      {"POST", "/admin/mirror?pool=shadow&percent=101", 400},
      {"POST", "/admin/mirror?pool=shadow&percent=-1", 400},
      {"POST", "/admin/mirror?pool=shadow&percent=abc", 400},
      {"POST", "/admin/mirror?pool=shadow&percent=nan", 400},
      {"POST", "/admin/mirror?pool=shadow&percent=", 400},
      {"POST", "/admin/mirror?pool=shadow", 400},
      {"POST", "/admin/mirror?percent=10", 400},
      {"POST", "/admin/mirror?pool=shadow&percent=10&extra=1", 400},
      {"POST", "/admin/mirror?pool=primary&percent=10", 409},  // the active pool
      {"GET", "/admin/mirror?pool=shadow&percent=10", 405},
  };
  for (const Call& call : calls) {
    const AdminResult result = admin(call.method, call.target);
    EXPECT_EQ(result.status, call.status)
        << call.method << " " << call.target << " -> " << result.text();
    EXPECT_TRUE(result.body.is_object() && result.body["error"].is_string())
        << call.target << " answered " << result.text();
  }
  EXPECT_EQ(webRoute(), before);
  EXPECT_EQ(before["mirror"]["percent"], 25.0);
  // And the mirror still runs at 25%: about a quarter of 200 requests.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(client_.request("GET", "/quarter").has_value());
  const uint64_t sent = mirrorCount(kSent);
  ASSERT_TRUE(shadow_->waitFor(
      [&](const std::vector<nlohmann::json>& events) { return events.size() >= sent; }));
  EXPECT_NEAR(static_cast<double>(sent), 50.0, 25.0);

  // Switching the route to the shadow pool ends the mirror (it would copy to itself).
  ASSERT_EQ(admin("POST", "/admin/switch?to=shadow").status, 200);
  EXPECT_TRUE(webRoute()["mirror"].is_null());
}

TEST_F(MirrorAdminTest, RuntimeMirrorSurvivesAReloadOfAnUnchangedFile) {
  ASSERT_NO_FATAL_FAILURE(setMirror("pool=shadow&percent=100"));
  const AdminResult reloaded = admin("POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.text();
  EXPECT_EQ(webRoute()["mirror"]["percent"], 100.0);
  EXPECT_TRUE(mirrored("/after-reload"));

  // SIGHUP with the same content: the same.
  absl::StatusOr<nlohmann::json> same = proxy_.reload(config_);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ((*same)["event"], "config_reloaded");
  EXPECT_TRUE(mirrored("/after-sighup"));

  // Settings other than pool and percent may change: the runtime mirror stays and uses them.
  std::string edited = config_;
  edited.replace(edited.find("X-Shadow"), 8, "X-Copy");
  absl::StatusOr<nlohmann::json> applied = proxy_.reload(edited);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ((*applied)["event"], "config_reloaded");
  ASSERT_TRUE(mirrored("/after-header-edit"));
  const std::optional<nlohmann::json> copy =
      RequestLog::withTarget(shadow_->events(), "/after-header-edit");
  EXPECT_THAT(loggedHeader(*copy, "X-Copy"), ElementsAre("1"));

  // Editing the file's percent declares a new intent: the file wins.
  std::string intent = edited;
  intent.replace(intent.find("percent = 0"), 11, "percent = 0.01");
  applied = proxy_.reload(intent);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ((*applied)["event"], "config_reloaded");
  EXPECT_EQ(webRoute()["mirror"]["percent"], 0.01);

  // Stopping at run time survives an unchanged file too.
  ASSERT_NO_FATAL_FAILURE(setMirror("percent=0"));
  applied = proxy_.reload(intent);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(webRoute()["mirror"].is_null());
}

// ---- 6. The access log ------------------------------------------------------------------------

TEST_F(MirrorTest, AccessLogMarksMirroredRequests) {
  TempDir logs;
  const std::string log_path = logs.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startPair(
      {}, "mirror = { pool = \"shadow\", percent = 100, methods = [\"GET\"] }\n",
      absl::StrCat("[access_log]\npath = \"", log_path, "\"\nflush_interval = \"10ms\"\n")));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.request("GET", absl::StrCat("/get/", i)).has_value());
    ASSERT_TRUE(client.request("POST", absl::StrCat("/post/", i), {}, "x").has_value());
  }
  std::vector<nlohmann::json> lines;
  EXPECT_TRUE(waitUntil(
      [&] {
        lines.clear();
        std::ifstream in(log_path);
        std::string line;
        while (std::getline(in, line)) {
          if (std::optional<nlohmann::json> json = parseJson(line)) lines.push_back(*json);
        }
        return lines.size() >= 6;
      },
      std::chrono::seconds(5)));
  ASSERT_EQ(lines.size(), 6u);
  for (const nlohmann::json& line : lines) {
    const bool get = line["method"] == "GET";
    EXPECT_EQ(line["mirrored"], get) << line.dump();
    EXPECT_EQ(line["pool"], "primary") << line.dump();
    EXPECT_EQ(line["status"], 200) << line.dump();
  }
}

// ---- Configuration checks ----------------------------------------------------------------------

// Runs `switchyard --check -c FILE`; returns its exit code and stores its output.
std::optional<int> checkFile(const std::string& path, std::string* output) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> check =
      ChildProcess::start({switchyardBinary(), "--check", "-c", path});
  if (!check.ok()) {
    *output = std::string(check.status().message());
    return std::nullopt;
  }
  const std::optional<int> code = (*check)->waitExit(std::chrono::seconds(10));
  (*check)->waitForLine([](const std::string&) { return false; }, milliseconds(2000));
  *output = (*check)->output();
  return code;
}
std::optional<int> checkConfig(const std::string& toml, std::string* output) {
  TempDir dir;
  return checkFile(dir.writeFile("check.toml", toml), output);
}
std::string mirrorRoute(const std::string& mirror) {
  return mirrorConfig(8081, "[\"127.0.0.1:8082\"]", mirror);
}

TEST(MirrorConfigTest, ExampleFileLoadsAndBadMirrorsAreRefused) {
  std::string output;
  EXPECT_EQ(checkFile(std::string(SY_SOURCE_DIR) + "/conf/mirror.toml", &output),
            std::optional<int>(0))
      << output;
  EXPECT_EQ(
      checkConfig(mirrorRoute("[routes.mirror]\npool = \"shadow\"\npercent = 0.5\n"
                              "methods = [\"GET\", \"HEAD\"]\nmax_body_bytes = 0\n"
                              "host_suffix = \"-shadow\"\nheader = \"\"\ntimeout = \"250ms\"\n"
                              "max_in_flight = 1\nmax_buffer_bytes = 1024\n"),
                  &output),
      std::optional<int>(0))
      << output;
  const std::pair<const char*, const char*> bad[] = {
      {"mirror = { pool = \"purple\", percent = 10 }", "unknown pool \"purple\""},
      {"mirror = { pool = \"shadow\", percent = 101 }", "percent"},
      {"mirror = { pool = \"shadow\", percent = -1 }", "percent"},
      {"mirror = { pool = \"shadow\" }", "percent"},
      {"mirror = { percent = 10 }", "pool"},
      {"mirror = { pool = \"shadow\", percent = 10, methods = [\"get\"] }", "methods"},
      {"mirror = { pool = \"shadow\", percent = 10, header = \"Bad Header\" }", "header"},
      {"mirror = { pool = \"shadow\", percent = 10, max_buffer_bytes = 10 }", "max_buffer_bytes"},
      {"mirror = { pool = \"shadow\", percent = 10, max_in_flight = 0 }", "max_in_flight"},
      {"mirror = { pool = \"shadow\", percent = 10, timeout = \"0s\" }", "timeout"},
      {"mirror = { pool = \"shadow\", percent = 10, bogus = 1 }", "bogus"},
  };
  for (const auto& [mirror, error] : bad) {
    EXPECT_EQ(checkConfig(mirrorRoute(mirror), &output), std::optional<int>(1)) << mirror;
    EXPECT_THAT(output, ::testing::HasSubstr(error)) << mirror;
  }
}

// A file may not mirror a route to its own pool (the admin API refuses it too): that would
// double the pool's load with copies of its own traffic.
TEST(MirrorConfigTest, MirrorToTheRoutesOwnPoolIsRefused) {
  std::string output;
  EXPECT_EQ(checkConfig(mirrorRoute("mirror = { pool = \"primary\", percent = 10 }"), &output),
            std::optional<int>(1))
      << output;
}

// host_suffix is written into the copy's head: only host characters, so no header can be
// injected through it.
TEST(MirrorConfigTest, HostSuffixMustBeHostCharacters) {
  std::string output;
  for (const char* suffix : {"\\r\\nX-Injected: 1", "has space", "a/b"}) {
    EXPECT_EQ(checkConfig(mirrorRoute(absl::StrCat(
                              "mirror = { pool = \"shadow\", percent = 10, host_suffix = \"",
                              suffix, "\" }")),
                          &output),
              std::optional<int>(1))
        << suffix << ": " << output;
  }
}

}  // namespace
}  // namespace sy::testing
