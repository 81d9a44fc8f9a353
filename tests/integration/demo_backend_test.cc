// The demo backend (`switchyard backend`), driven through the real binary.

#include "proxy/demo/demo_backend.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/address_sanitizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proxy/demo/demo_backend_options.h"
#include "tests/support/digest.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sizes.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

long elapsedMs(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

std::string patternBytes(size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(proxy::kDemoBytesPattern[i % 64]);
  return out;
}

// The SHA-256 of /bytes/N, computed here independently of the backend.
std::string patternDigest(uint64_t n) {
  const std::string block = patternBytes(kMiB);  // a whole number of 64-byte periods
  Sha256 sha;
  for (uint64_t left = n; left > 0;) {
    const size_t length = static_cast<size_t>(std::min<uint64_t>(left, block.size()));
    sha.update(block.data(), length);
    left -= length;
  }
  return sha.finishHex();
}

// Deterministic, non-repeating test data.
std::string testBody(size_t n, uint32_t seed = 1) {
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

std::optional<nlohmann::json> parseJson(const std::string& text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// For the memory tests: under ASan, freed blocks sit in a quarantine of up to 256 MB, which
// would show as resident memory; a small quarantine makes RSS mean what it means in release.
ChildProcess::Env memoryTestEnv() {
#if SY_ADDRESS_SANITIZER
  const char* existing = std::getenv("ASAN_OPTIONS");
  std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"}};
#else
  return {};
#endif
}

class DemoBackendTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& args = {}, const ChildProcess::Env& env = {}) {
    absl::StatusOr<DemoBackendProcess> started = startDemoBackend("blue", args, env);
    ASSERT_TRUE(started.ok()) << started.status();
    backend_ = std::move(*started);
  }

  // Every test ends by stopping the backend: whatever the test did to it, it must still be
  // alive and exit cleanly (which also catches crashes and sanitizer reports).
  void TearDown() override {
    if (backend_.process == nullptr) return;
    backend_.process->signal(SIGTERM);
    const std::optional<int> code = backend_.process->waitExit(milliseconds(10000));
    EXPECT_EQ(code, std::optional<int>(0)) << "backend output:\n" << backend_.process->output();
  }

  uint16_t port() const { return backend_.port; }

  // Waits until the backend has received `count` request heads (its /control/stats).
  bool waitForRequestsReceived(uint64_t count) const {
    return waitUntil(
        [&] {
          absl::StatusOr<BackendStats> stats = backendStats(port());
          return stats.ok() && stats->requests >= count;
        },
        milliseconds(10000));
  }

  void connect(HttpClient* client) { ASSERT_TRUE(client->connect(port())) << client->lastError(); }

  DemoBackendProcess backend_;
};

// --- Flags -------------------------------------------------------------------------------------

TEST(DemoBackendFlagsTest, ParsesValidFlags) {
  const absl::StatusOr<proxy::DemoBackendOptions> options = proxy::parseDemoBackendArgs(
      {"--name", "blue", "--listen=127.0.0.1:0", "--threads", "3", "--delay", "150ms",
       "--fail-rate", "0.25", "--fail-status=503", "--health-status", "503", "--shutdown-grace",
       "2s", "--reset-rate=0.5"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->name, "blue");
  EXPECT_EQ(options->listen.toString(), "127.0.0.1:0");
  EXPECT_EQ(options->threads, 3);
  EXPECT_EQ(options->delay, absl::Milliseconds(150));
  EXPECT_DOUBLE_EQ(options->fail_rate, 0.25);
  EXPECT_EQ(options->fail_status, 503);
  EXPECT_EQ(options->health_status, 503);
  EXPECT_EQ(options->shutdown_grace, absl::Seconds(2));
  EXPECT_DOUBLE_EQ(options->reset_rate, 0.5);
  EXPECT_FALSE(options->log_requests);
}

TEST(DemoBackendFlagsTest, LogRequestsIsASwitchWithoutValue) {
  const absl::StatusOr<proxy::DemoBackendOptions> options =
      proxy::parseDemoBackendArgs({"--log-requests", "--name", "blue", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->log_requests);
  EXPECT_EQ(options->name, "blue");
  EXPECT_FALSE(
      proxy::parseDemoBackendArgs({"--name", "blue", "--listen", "127.0.0.1:0", "--log-requests=1"})
          .ok());
  EXPECT_THAT(std::string(proxy::demoBackendHelp()), HasSubstr("--log-requests"));
}

TEST(DemoBackendFlagsTest, RejectsBadFlags) {
  const std::vector<std::vector<std::string_view>> bad = {
      {"--listen", "127.0.0.1:0"},                        // no --name
      {"--name", "blue"},                                 // no --listen
      {"--name", "blue", "--listen", "127.0.0.1:99999"},  // port out of range
      {"--name", "blue", "--listen", "127.0.0.1:0", "--threads", "0"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "--delay", "soon"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "--fail-rate", "1.5"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "--fail-status", "99"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "--reset-rate", "-0.1"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "--bogus", "1"},
      {"--name", "blue", "--listen", "127.0.0.1:0", "stray"},
      {"--name", "bl\r\nue", "--listen", "127.0.0.1:0"},  // header injection
      {"--name", "blue", "--listen"},                     // missing value
  };
  for (const auto& args : bad) {
    EXPECT_FALSE(proxy::parseDemoBackendArgs(args).ok()) << ::testing::PrintToString(args);
  }
}

TEST(DemoBackendFlagsTest, BinaryExitsTwoOnBadFlagsAndZeroOnHelp) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> bad =
      ChildProcess::start({switchyardBinary(), "backend", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ((*bad)->waitExit(milliseconds(5000)), std::optional<int>(2));
  EXPECT_TRUE((*bad)
                  ->waitForLine(
                      [](const std::string& line) {
                        return line.find("--name is required") != std::string::npos;
                      },
                      milliseconds(5000))
                  .has_value())
      << (*bad)->output();

  absl::StatusOr<std::unique_ptr<ChildProcess>> help =
      ChildProcess::start({switchyardBinary(), "backend", "--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ((*help)->waitExit(milliseconds(5000)), std::optional<int>(0));
  EXPECT_TRUE(
      (*help)
          ->waitForLine(
              [](const std::string& line) { return line.find("/bytes/N") != std::string::npos; },
              milliseconds(5000))
          .has_value())
      << (*help)->output();
}

// --- Basic answers -----------------------------------------------------------------------------

TEST_F(DemoBackendTest, DefaultAnswerCarriesNameAndBackendHeader) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string error;
  const std::optional<Response> response = httpGet(port(), "/anything?x=1", {}, &error);
  ASSERT_TRUE(response.has_value()) << error;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "blue\n");
  EXPECT_EQ(response->header("x-backend"), "blue");
  EXPECT_EQ(response->header("Content-Type"), "text/plain");
  EXPECT_EQ(response->header("Content-Length"), "5");
  EXPECT_TRUE(response->header("Date").has_value());
  EXPECT_TRUE(response->keep_alive);
}

TEST_F(DemoBackendTest, LogsListeningLineWithActualPort) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::optional<nlohmann::json> line =
      waitForLogEvent(*backend_.process, "backend_listening", milliseconds(1000));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["name"], "blue");
  EXPECT_EQ((*line)["level"], "info");
  EXPECT_EQ((*line)["address"], "127.0.0.1:" + std::to_string(port()));
}

TEST_F(DemoBackendTest, HeadHasLengthButNoBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> head = client.request("HEAD", "/");
  ASSERT_TRUE(head.has_value()) << client.lastError();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "5");
  EXPECT_EQ(head->body, "");
  // Nothing stray followed the head: the next answer parses.
  std::optional<Response> get = client.request("GET", "/");
  ASSERT_TRUE(get.has_value()) << client.lastError();
  EXPECT_EQ(get->body, "blue\n");
}

TEST_F(DemoBackendTest, StatusEndpoint) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> unavailable = client.request("GET", "/status/503");
  ASSERT_TRUE(unavailable.has_value()) << client.lastError();
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_EQ(unavailable->body, "blue\n");
  EXPECT_EQ(unavailable->header("X-Backend"), "blue");

  std::optional<Response> no_content = client.request("GET", "/status/204");
  ASSERT_TRUE(no_content.has_value()) << client.lastError();
  EXPECT_EQ(no_content->status, 204);
  EXPECT_EQ(no_content->body, "");
  EXPECT_FALSE(no_content->header("Content-Length").has_value());

  std::optional<Response> bad = client.request("GET", "/status/99");
  ASSERT_TRUE(bad.has_value()) << client.lastError();
  EXPECT_EQ(bad->status, 400);
  // A bad parameter is not a protocol error: the connection stays usable.
  std::optional<Response> after = client.request("GET", "/status/201");
  ASSERT_TRUE(after.has_value()) << client.lastError();
  EXPECT_EQ(after->status, 201);
}

// --- Health and control ------------------------------------------------------------------------

TEST_F(DemoBackendTest, HealthChangesAtRunTime) {
  ASSERT_NO_FATAL_FAILURE(start({"--threads", "2"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> healthy = client.request("GET", "/health");
  ASSERT_TRUE(healthy.has_value()) << client.lastError();
  EXPECT_EQ(healthy->status, 200);
  EXPECT_EQ(healthy->body, "ok\n");

  std::optional<Response> set = client.request("POST", "/control/health?status=503");
  ASSERT_TRUE(set.has_value()) << client.lastError();
  EXPECT_EQ(set->status, 200);

  // Every loop sees the change: ask on fresh connections, which both loops accept.
  for (int i = 0; i < 6; ++i) {
    std::string error;
    std::optional<Response> sick = httpGet(port(), "/health", {}, &error);
    ASSERT_TRUE(sick.has_value()) << error;
    EXPECT_EQ(sick->status, 503);
    EXPECT_EQ(sick->body, "unhealthy\n");
  }

  std::optional<Response> wrong_method = client.request("GET", "/control/health?status=200");
  ASSERT_TRUE(wrong_method.has_value()) << client.lastError();
  EXPECT_EQ(wrong_method->status, 405);
  std::optional<Response> bad_status = client.request("POST", "/control/health?status=99");
  ASSERT_TRUE(bad_status.has_value()) << client.lastError();
  EXPECT_EQ(bad_status->status, 400);

  ASSERT_TRUE(client.request("POST", "/control/health?status=200").has_value());
  std::optional<Response> again = client.request("GET", "/health");
  ASSERT_TRUE(again.has_value()) << client.lastError();
  EXPECT_EQ(again->status, 200);
}

TEST_F(DemoBackendTest, HealthStatusFlag) {
  ASSERT_NO_FATAL_FAILURE(start({"--health-status", "503"}));
  std::string error;
  std::optional<Response> response = httpGet(port(), "/health", {}, &error);
  ASSERT_TRUE(response.has_value()) << error;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "unhealthy\n");
}

TEST_F(DemoBackendTest, FailRateIsDeterministicAndControllable) {
  ASSERT_NO_FATAL_FAILURE(start({"--fail-rate", "0.5", "--fail-status", "503"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::vector<int> statuses;
  for (int i = 0; i < 10; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    statuses.push_back(response->status);
    EXPECT_EQ(response->body, "blue\n");
    // /health is never failed.
    std::optional<Response> health = client.request("GET", "/health");
    ASSERT_TRUE(health.has_value()) << client.lastError();
    EXPECT_EQ(health->status, 200);
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(200, 503, 200, 503, 200, 503, 200, 503, 200, 503));

  std::optional<Response> set = client.request("POST", "/control/fail?rate=1&status=502");
  ASSERT_TRUE(set.has_value()) << client.lastError();
  EXPECT_EQ(set->status, 200);
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 502);
  }
  ASSERT_TRUE(client.request("POST", "/control/fail?rate=0").has_value());
  std::optional<Response> healed = client.request("GET", "/");
  ASSERT_TRUE(healed.has_value()) << client.lastError();
  EXPECT_EQ(healed->status, 200);

  std::optional<Response> bad = client.request("POST", "/control/fail?rate=2");
  ASSERT_TRUE(bad.has_value()) << client.lastError();
  EXPECT_EQ(bad->status, 400);
}

// Counts over all loops: request heads that arrived (not /control/*) and accepted connections.
TEST_F(DemoBackendTest, StatsCountRequestsAndConnections) {
  ASSERT_NO_FATAL_FAILURE(start({"--threads", "2"}));
  auto stats = [&](HttpClient& client) -> nlohmann::json {
    std::optional<Response> response = client.request("GET", "/control/stats");
    EXPECT_TRUE(response.has_value()) << client.lastError();
    if (!response.has_value()) return {};
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("Content-Type"), "application/json");
    return parseJson(response->body).value_or(nlohmann::json());
  };
  HttpClient observer;
  ASSERT_NO_FATAL_FAILURE(connect(&observer));
  const nlohmann::json before = stats(observer);
  EXPECT_EQ(before["requests"], 0) << before.dump();
  EXPECT_EQ(before["connections"], 1) << before.dump();  // the observer itself

  HttpClient keep_alive;
  ASSERT_NO_FATAL_FAILURE(connect(&keep_alive));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(keep_alive.request("GET", "/").has_value());
  ASSERT_TRUE(keep_alive.request("GET", "/health").has_value());
  for (int i = 0; i < 4; ++i) {
    std::string error;
    ASSERT_TRUE(httpGet(port(), "/status/204", {}, &error).has_value()) << error;
  }
  // A head whose body never arrives still counts; a malformed one does not.
  HttpClient partial;
  ASSERT_NO_FATAL_FAILURE(connect(&partial));
  ASSERT_TRUE(partial.sendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
  HttpClient malformed;
  ASSERT_NO_FATAL_FAILURE(connect(&malformed));
  ASSERT_TRUE(malformed.sendRaw("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"));
  ASSERT_TRUE(malformed.readResponse().has_value()) << malformed.lastError();
  // Control endpoints are not counted, whatever the method.
  ASSERT_TRUE(observer.request("POST", "/control/health?status=200").has_value());
  std::optional<Response> wrong = observer.request("POST", "/control/stats");
  ASSERT_TRUE(wrong.has_value()) << observer.lastError();
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("Allow"), "GET");

  // The other loop may not have read the partial request yet: poll until it is counted.
  nlohmann::json after;
  const Clock::time_point deadline = Clock::now() + milliseconds(5000);
  do {
    after = stats(observer);
  } while (after["requests"] != 9 && Clock::now() < deadline);
  EXPECT_EQ(after["requests"], 9) << after.dump();
  EXPECT_EQ(after["connections"], 1 + 1 + 4 + 1 + 1) << after.dump();
}

TEST_F(DemoBackendTest, ResetRateResetsThatShareWithoutAnswering) {
  ASSERT_NO_FATAL_FAILURE(start({"--reset-rate", "0.5"}));
  std::vector<bool> reset;
  for (int i = 0; i < 6; ++i) {
    HttpClient client;
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    // /health is exempt and does not advance the sequence.
    std::optional<Response> health = client.request("GET", "/health");
    ASSERT_TRUE(health.has_value()) << client.lastError();
    EXPECT_EQ(health->status, 200);
    std::optional<Response> response = client.request("GET", "/");
    reset.push_back(!response.has_value());
    if (response.has_value()) {
      EXPECT_EQ(response->status, 200);
    } else {
      EXPECT_TRUE(client.peerReset()) << client.lastError();
    }
  }
  EXPECT_THAT(reset, ::testing::ElementsAre(false, true, false, true, false, true));
}

// --- Connection handling -----------------------------------------------------------------------

TEST_F(DemoBackendTest, KeepAliveServesTwoRequestsOnOneConnection) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 2; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << "request " << i << ": " << client.lastError();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->keep_alive);
    EXPECT_FALSE(response->header("Connection").has_value());
  }
  EXPECT_FALSE(client.peerClosed());
}

TEST_F(DemoBackendTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // The first answer is delayed, so the others wait behind it, unparsed.
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("GET", "/delay/100") + client.buildRequest("GET", "/status/201") +
      client.buildRequest("POST", "/echo", {}, "abc") + client.buildRequest("GET", "/status/202")))
      << client.lastError();
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    std::optional<Response> response = client.readResponse();
    ASSERT_TRUE(response.has_value()) << "response " << i << ": " << client.lastError();
    statuses.push_back(response->status);
    if (i == 2) {
      EXPECT_THAT(response->body, HasSubstr(sha256Hex("abc")));
    }
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(200, 201, 200, 202));
}

TEST_F(DemoBackendTest, Http10ClosesUnlessKeepAliveAsked) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient plain;
  ASSERT_NO_FATAL_FAILURE(connect(&plain));
  ASSERT_TRUE(plain.sendRaw("GET / HTTP/1.0\r\n\r\n")) << plain.lastError();
  std::optional<Response> response = plain.readResponse();
  ASSERT_TRUE(response.has_value()) << plain.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "blue\n");
  EXPECT_FALSE(response->keep_alive);
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(plain.waitForPeerClose(milliseconds(5000))) << plain.lastError();

  HttpClient keep_alive;
  ASSERT_NO_FATAL_FAILURE(connect(&keep_alive));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(keep_alive.sendRaw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::optional<Response> kept = keep_alive.readResponse();
    ASSERT_TRUE(kept.has_value()) << keep_alive.lastError();
    EXPECT_EQ(kept->header("Connection"), "keep-alive");
    EXPECT_TRUE(kept->keep_alive);
  }
}

TEST_F(DemoBackendTest, ConnectionCloseAndCloseEndpointCloseAfterAnswering) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient asked;
  ASSERT_NO_FATAL_FAILURE(connect(&asked));
  std::optional<Response> response = asked.request("GET", "/", {{"Connection", "close"}});
  ASSERT_TRUE(response.has_value()) << asked.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(asked.waitForPeerClose(milliseconds(5000))) << asked.lastError();
  EXPECT_FALSE(asked.peerReset());

  HttpClient endpoint;
  ASSERT_NO_FATAL_FAILURE(connect(&endpoint));
  std::optional<Response> closing = endpoint.request("GET", "/close");
  ASSERT_TRUE(closing.has_value()) << endpoint.lastError();
  EXPECT_EQ(closing->status, 200);
  EXPECT_EQ(closing->body, "blue\n");
  EXPECT_EQ(closing->header("Connection"), "close");
  EXPECT_TRUE(endpoint.waitForPeerClose(milliseconds(5000))) << endpoint.lastError();
  EXPECT_FALSE(endpoint.peerReset());
}

TEST_F(DemoBackendTest, MalformedRequestGets400AndCloseWithoutHurtingOthers) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient bystander;
  ASSERT_NO_FATAL_FAILURE(connect(&bystander));
  ASSERT_TRUE(bystander.request("GET", "/").has_value()) << bystander.lastError();

  for (const std::string_view garbage :
       {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\n\r\n" /* no Host */,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    HttpClient bad;
    ASSERT_NO_FATAL_FAILURE(connect(&bad));
    ASSERT_TRUE(bad.sendRaw(garbage)) << bad.lastError();
    std::optional<Response> response = bad.readResponse();
    ASSERT_TRUE(response.has_value()) << bad.lastError();
    EXPECT_EQ(response->status, 400) << garbage;
    EXPECT_EQ(response->header("Connection"), "close");
    EXPECT_TRUE(bad.waitForPeerClose(milliseconds(5000))) << bad.lastError();
  }

  std::optional<Response> still = bystander.request("GET", "/");
  ASSERT_TRUE(still.has_value()) << bystander.lastError();
  EXPECT_EQ(still->status, 200);
}

TEST_F(DemoBackendTest, DeclinedUpgradeIsAnsweredAndClosed) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // What curl --http2 sends: the backend ignores the upgrade and answers in HTTP/1.1.
  std::optional<Response> response =
      client.request("GET", "/",
                     {{"Connection", "Upgrade, HTTP2-Settings"},
                      {"Upgrade", "h2c"},
                      {"HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(5000))) << client.lastError();
}

// --- Delays ------------------------------------------------------------------------------------

TEST_F(DemoBackendTest, DelayEndpointWaitsAtLeastTheDelay) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const Clock::time_point begin = Clock::now();
  std::optional<Response> response = client.request("GET", "/delay/200");
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_GE(elapsedMs(begin), 200);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "blue\n");
}

TEST_F(DemoBackendTest, DelayDoesNotBlockOtherConnections) {
  ASSERT_NO_FATAL_FAILURE(start());  // one loop: a blocking delay would stall everything
  HttpClient slow;
  ASSERT_NO_FATAL_FAILURE(connect(&slow));
  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(slow.sendRaw(slow.buildRequest("GET", "/delay/1500"))) << slow.lastError();

  HttpClient fast;
  ASSERT_NO_FATAL_FAILURE(connect(&fast));
  std::optional<Response> quick = fast.request("GET", "/");
  ASSERT_TRUE(quick.has_value()) << fast.lastError();
  EXPECT_EQ(quick->status, 200);
  // The other connection was answered while the delayed one was still waiting.
  EXPECT_LT(elapsedMs(begin), 1500);
  EXPECT_EQ(slow.readRaw(1, milliseconds(0)), "");

  std::optional<Response> delayed = slow.readResponse();
  ASSERT_TRUE(delayed.has_value()) << slow.lastError();
  EXPECT_EQ(delayed->status, 200);
  EXPECT_GE(elapsedMs(begin), 1500);
}

TEST_F(DemoBackendTest, DelayFlagDelaysEverythingButHealth) {
  ASSERT_NO_FATAL_FAILURE(start({"--delay", "1s"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  Clock::time_point begin = Clock::now();
  std::optional<Response> health = client.request("GET", "/health");
  ASSERT_TRUE(health.has_value()) << client.lastError();
  EXPECT_LT(elapsedMs(begin), 1000);

  begin = Clock::now();
  std::optional<Response> response = client.request("GET", "/");
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_GE(elapsedMs(begin), 1000);
  EXPECT_EQ(response->body, "blue\n");
}

// --- Bodies ------------------------------------------------------------------------------------

TEST_F(DemoBackendTest, BytesSmallBodyIsThePattern) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string error;
  std::optional<Response> response = httpGet(port(), "/bytes/100000", {}, &error);
  ASSERT_TRUE(response.has_value()) << error;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Content-Length"), "100000");
  EXPECT_TRUE(response->body == patternBytes(100000));
}

TEST_F(DemoBackendTest, Bytes16MiBWithContentLength) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/bytes/16777216")));
  std::optional<Response> response = client.readResponseDigest();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Content-Length"), "16777216");
  EXPECT_EQ(response->body_bytes, 16 * kMiB);
  EXPECT_EQ(response->body_sha256, patternDigest(16 * kMiB));
  EXPECT_TRUE(response->keep_alive);
  // Also read whole, the way most tests will.
  std::optional<Response> kept = client.request("GET", "/bytes/16777216");
  ASSERT_TRUE(kept.has_value()) << client.lastError();
  EXPECT_EQ(kept->body.size(), 16 * kMiB);
  EXPECT_EQ(sha256Hex(kept->body), patternDigest(16 * kMiB));
}

TEST_F(DemoBackendTest, Bytes16MiBChunked) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/bytes/16777216?chunked=1")));
  std::optional<Response> response = client.readResponseDigest();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(response->header("Content-Length").has_value());
  EXPECT_EQ(response->body_bytes, 16 * kMiB);
  EXPECT_EQ(response->body_sha256, patternDigest(16 * kMiB));
  // The connection is still in sync after the last chunk.
  std::optional<Response> next = client.request("GET", "/bytes/0?chunked=1");
  ASSERT_TRUE(next.has_value()) << client.lastError();
  EXPECT_EQ(next->body_bytes, 0u);
}

TEST_F(DemoBackendTest, BytesStreamWithBackpressureAndFlatMemory) {
  ASSERT_NO_FATAL_FAILURE(start({}, memoryTestEnv()));
  const long rss_before = backend_.process->rssKiB();
  ASSERT_GT(rss_before, 0);
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/bytes/268435456")));
  // Do not read for a while: the backend must stop at its watermark, not buffer 256 MiB.
  std::this_thread::sleep_for(milliseconds(500));
  const long rss_stalled = backend_.process->rssKiB();
  std::optional<Response> response = client.readResponseDigest();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const long rss_after = backend_.process->rssKiB();
  EXPECT_EQ(response->body_bytes, 256 * kMiB);
  EXPECT_EQ(response->body_sha256, patternDigest(256 * kMiB));
  EXPECT_LT(rss_stalled - rss_before, 16 * 1024) << "KiB before " << rss_before;
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "KiB before " << rss_before;
}

TEST_F(DemoBackendTest, EchoWithContentLength) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(300000);
  std::optional<Response> response =
      client.request("PUT", "/echo?a=1&b=2", {{"X-Test", "yes"}}, body);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Content-Type"), "application/json");
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["backend"], "blue");
  EXPECT_EQ((*json)["method"], "PUT");
  EXPECT_EQ((*json)["path"], "/echo?a=1&b=2");
  EXPECT_EQ((*json)["version"], "1.1");
  EXPECT_EQ((*json)["body_bytes"], body.size());
  EXPECT_EQ((*json)["body_sha256"], sha256Hex(body));
  bool saw_header = false;
  for (const auto& field : (*json)["headers"]) {
    saw_header = saw_header || (field[0] == "X-Test" && field[1] == "yes");
  }
  EXPECT_TRUE(saw_header) << (*json)["headers"].dump();
}

TEST_F(DemoBackendTest, EchoWithChunkedBody) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(
      client.sendRaw(client.buildRequest("POST", "/echo", {{"Transfer-Encoding", "chunked"}})));
  Sha256 sent;
  uint64_t total = 0;
  for (size_t size : {1, 100, 65536, 1000000, 3, 2000000}) {
    const std::string chunk = testBody(size, static_cast<uint32_t>(size));
    char header[32];
    std::snprintf(header, sizeof header, "%zx\r\n", size);
    ASSERT_TRUE(client.sendRaw(header + chunk + "\r\n")) << client.lastError();
    sent.update(chunk);
    total += size;
  }
  ASSERT_TRUE(client.sendRaw("0\r\n\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["body_bytes"], total);
  EXPECT_EQ((*json)["body_sha256"], sent.finishHex());
}

TEST_F(DemoBackendTest, EchoHonoursExpectContinue) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(5000);
  ASSERT_TRUE(client.sendRaw(client.buildRequest(
      "POST", "/echo", {{"Expect", "100-continue"}, {"Content-Length", "5000"}})));
  // The interim answer comes before any body byte was sent.
  std::optional<Response> interim = client.readResponse();
  ASSERT_TRUE(interim.has_value()) << client.lastError();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.sendRaw(body));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["body_sha256"], sha256Hex(body));
}

TEST_F(DemoBackendTest, EchoLargeUploadKeepsMemoryFlat) {
  ASSERT_NO_FATAL_FAILURE(start({}, memoryTestEnv()));
  const long rss_before = backend_.process->rssKiB();
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  constexpr uint64_t kSize = 256 * kMiB;
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("POST", "/echo", {{"Content-Length", std::to_string(kSize)}})));
  const std::string block = testBody(kMiB);
  Sha256 sent;
  for (uint64_t i = 0; i < kSize / kMiB; ++i) {
    ASSERT_TRUE(client.sendRaw(block)) << client.lastError();
    sent.update(block);
  }
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> json = parseJson(response->body);
  ASSERT_TRUE(json.has_value()) << response->body;
  EXPECT_EQ((*json)["body_bytes"], kSize);
  EXPECT_EQ((*json)["body_sha256"], sent.finishHex());
  EXPECT_LT(backend_.process->rssKiB() - rss_before, 16 * 1024);
}

// --- --log-requests ---------------------------------------------------------------------------

// The request_received events logged from line `from` on, by target.
std::vector<nlohmann::json> requestEvents(ChildProcess& process, const std::string& target,
                                          size_t expected, size_t from = 0) {
  std::vector<nlohmann::json> events;
  process.waitForLine(
      [&](const std::string& line) {
        const std::optional<nlohmann::json> json = parseJsonLogLine(line);
        if (json.has_value() && (*json)["event"] == "request_received" &&
            (*json)["target"] == target) {
          events.push_back(*json);
        }
        return events.size() >= expected;
      },
      milliseconds(5000), from);
  return events;
}

bool hasHeader(const nlohmann::json& event, const std::string& name, const std::string& value) {
  for (const auto& field : event["headers"]) {
    if (field[0] == name && field[1] == value) return true;
  }
  return false;
}

TEST_F(DemoBackendTest, LogRequestsLogsEveryRequestWithItsBodyDigest) {
  ASSERT_NO_FATAL_FAILURE(start({"--log-requests"}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));

  // No body: the digest of nothing.
  std::optional<Response> response = client.request("GET", "/anything?x=1", {{"X-Test", "a b"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  std::vector<nlohmann::json> events = requestEvents(*backend_.process, "/anything?x=1", 1);
  ASSERT_EQ(events.size(), 1u) << backend_.process->output();
  EXPECT_EQ(events[0]["level"], "info");
  EXPECT_EQ(events[0]["backend"], "blue");
  EXPECT_EQ(events[0]["method"], "GET");
  EXPECT_EQ(events[0]["version"], "1.1");
  EXPECT_TRUE(hasHeader(events[0], "X-Test", "a b")) << events[0].dump();
  EXPECT_EQ(events[0]["body_bytes"], 0);
  EXPECT_EQ(events[0]["body_sha256"], sha256Hex(""));

  // A body on a path that is not /echo is hashed too.
  const std::string body = testBody(300000, 7);
  response = client.request("PUT", "/upload", {}, body);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->body, "blue\n");
  events = requestEvents(*backend_.process, "/upload", 1);
  ASSERT_EQ(events.size(), 1u) << backend_.process->output();
  EXPECT_EQ(events[0]["method"], "PUT");
  EXPECT_EQ(events[0]["body_bytes"], body.size());
  EXPECT_EQ(events[0]["body_sha256"], sha256Hex(body));

  // Chunked to /echo: the answer and the log line agree with what was sent.
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("POST", "/echo?chunked", {{"Transfer-Encoding", "chunked"}})));
  Sha256 sent;
  uint64_t total = 0;
  for (size_t size : {1, 70000, 5}) {
    const std::string chunk = testBody(size, static_cast<uint32_t>(size));
    char header[32];
    std::snprintf(header, sizeof header, "%zx\r\n", size);
    ASSERT_TRUE(client.sendRaw(header + chunk + "\r\n")) << client.lastError();
    sent.update(chunk);
    total += size;
  }
  ASSERT_TRUE(client.sendRaw("0\r\n\r\n"));
  response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value()) << response->body;
  const std::string digest = sent.finishHex();
  EXPECT_EQ((*echo)["body_sha256"], digest);
  events = requestEvents(*backend_.process, "/echo?chunked", 1);
  ASSERT_EQ(events.size(), 1u) << backend_.process->output();
  EXPECT_EQ(events[0]["body_bytes"], total);
  EXPECT_EQ(events[0]["body_sha256"], digest);
  EXPECT_TRUE(hasHeader(events[0], "Transfer-Encoding", "chunked")) << events[0].dump();

  // One line per request, control endpoints included.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.request("GET", "/again").has_value());
  EXPECT_EQ(requestEvents(*backend_.process, "/again", 3).size(), 3u);
  ASSERT_TRUE(client.request("GET", "/control/stats").has_value());
  EXPECT_EQ(requestEvents(*backend_.process, "/control/stats", 1).size(), 1u);
}

TEST_F(DemoBackendTest, WithoutLogRequestsNothingIsLoggedPerRequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string body = testBody(1000);
  std::optional<Response> response = client.request("POST", "/echo", {}, body);
  ASSERT_TRUE(response.has_value()) << client.lastError();
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value()) << response->body;
  EXPECT_EQ((*echo)["body_sha256"], sha256Hex(body));  // /echo hashes without the flag
  // The line would have been written before the answer; give the reader thread a moment.
  EXPECT_FALSE(backend_.process
                   ->waitForLine(
                       [](const std::string& line) {
                         return line.find("request_received") != std::string::npos;
                       },
                       milliseconds(200))
                   .has_value())
      << backend_.process->output();
}

// --- Resets and tunnels ------------------------------------------------------------------------

TEST_F(DemoBackendTest, ResetEndpointSendsRst) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/reset")));
  EXPECT_FALSE(client.readResponse().has_value());
  EXPECT_TRUE(client.peerReset()) << client.lastError();
}

TEST_F(DemoBackendTest, WebSocketUpgradeEchoesBytes) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // The first tunnel bytes ride in the same write as the request.
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("GET", "/ws", {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}) +
      "early"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 101);
  EXPECT_EQ(response->header("Upgrade"), "websocket");
  EXPECT_EQ(response->header("Connection"), "Upgrade");
  EXPECT_EQ(client.readRaw(5), "early");

  const std::string payload = testBody(1000000) + std::string("\0\r\n\r\nGET / HTTP/1.1\r\n", 20);
  ASSERT_TRUE(client.sendRaw(payload)) << client.lastError();
  const std::string echoed = client.readRaw(payload.size());
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);
  EXPECT_FALSE(client.readResponse().has_value());  // a tunnel is not HTTP any more
}

// --- Threads and shutdown ----------------------------------------------------------------------

TEST_F(DemoBackendTest, SeveralThreadsShareThePort) {
  ASSERT_NO_FATAL_FAILURE(start({"--threads", "4"}));
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 32; ++i) {
    clients.push_back(std::make_unique<HttpClient>());
    ASSERT_NO_FATAL_FAILURE(connect(clients.back().get()));
  }
  for (auto& client : clients) {
    std::optional<Response> response = client->request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client->lastError();
    EXPECT_EQ(response->body, "blue\n");
  }
}

TEST_F(DemoBackendTest, SigtermExitsZeroPromptly) {
  ASSERT_NO_FATAL_FAILURE(start({"--threads", "2"}));
  // An idle keep-alive connection must not hold the exit up.
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  ASSERT_TRUE(idle.request("GET", "/").has_value()) << idle.lastError();

  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(backend_.process->signal(SIGTERM));
  EXPECT_EQ(backend_.process->waitExit(milliseconds(2000)), std::optional<int>(0))
      << backend_.process->output();
  EXPECT_LT(elapsedMs(begin), 2000);
  EXPECT_TRUE(waitForLogEvent(*backend_.process, "backend_stopped", milliseconds(1000)));
  EXPECT_TRUE(idle.waitForPeerClose(milliseconds(2000)));
}

TEST_F(DemoBackendTest, SigtermFinishesInFlightResponses) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/delay/500")));
  ASSERT_TRUE(waitForRequestsReceived(1)) << "the request never arrived";
  ASSERT_TRUE(backend_.process->signal(SIGTERM));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Connection"), "close");
  client.close();
  EXPECT_EQ(backend_.process->waitExit(milliseconds(2000)), std::optional<int>(0))
      << backend_.process->output();
}

TEST_F(DemoBackendTest, SigtermClosesStalledConnectionsAfterTheGrace) {
  ASSERT_NO_FATAL_FAILURE(start({"--shutdown-grace", "300ms"}));
  // A client that stops reading in the middle of a large answer.
  HttpClient stalled;
  ASSERT_NO_FATAL_FAILURE(connect(&stalled));
  ASSERT_TRUE(stalled.sendRaw(stalled.buildRequest("GET", "/bytes/1073741824")));
  ASSERT_TRUE(waitForRequestsReceived(1)) << "the request never arrived";
  const Clock::time_point begin = Clock::now();
  ASSERT_TRUE(backend_.process->signal(SIGTERM));
  EXPECT_EQ(backend_.process->waitExit(milliseconds(2000)), std::optional<int>(0))
      << backend_.process->output();
  EXPECT_GE(elapsedMs(begin), 250);
}

}  // namespace
}  // namespace sy::testing
