// Request limits and identity (request shaping part B, issue 15) against real processes: max_body
// (413 by Content-Length before anything reaches the backend, and by a chunked body's running
// size), request ids (generated, kept, replaced, taken from traceparent; sent upstream, returned,
// logged), chosen access log fields, and the process_* metrics.

#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::SizeIs;

constexpr char kIdentityTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kIdentityTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

bool identityIsGeneratedId(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The complete lines of the access log at `path`, once it has at least `n` of them (5 s).
std::vector<nlohmann::ordered_json> identityLogLines(const std::string& path, size_t n) {
  std::vector<nlohmann::ordered_json> lines;
  waitUntil(
      [&] {
        lines.clear();
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
          if (!line.empty()) lines.push_back(nlohmann::ordered_json::parse(line));
        }
        return lines.size() >= n;
      },
      seconds(5));
  return lines;
}

class RequestIdentityTest : public ProxyTest {
 protected:
  // One listener (max_body 1KiB, X-Request-ID if absent), routes: /big/ (max_body 1MiB), /strict/
  // (ids always replaced), / (the listener's settings); `tail` is appended.
  void startShapingProxy(const std::string& tail = "") {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    log_ = logs_.file("access.log");
    ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
        "[server]\nworkers = 1\n\n[[listeners]]\nlisten = \"127.0.0.1:0\"\n",
        "max_body = \"1KiB\"\nrequest_id = \"X-Request-ID\"\n\n",
        "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:", backendPort(0), "\"]\n\n",
        "[[routes]]\nname = \"big\"\npath_prefix = \"/big/\"\npool = \"blue\"\n",
        "max_body = \"1MiB\"\n\n",
        "[[routes]]\nname = \"strict\"\npath_prefix = \"/strict/\"\npool = \"blue\"\n",
        "request_id_mode = \"always\"\n\n", "[[routes]]\nname = \"default\"\npool = \"blue\"\n\n",
        "[access_log]\npath = \"", log_, "\"\nflush_interval = \"20ms\"\n", tail)));
  }

  TempDir logs_;
  std::string log_;
};

TEST_F(RequestIdentityTest, ContentLengthOverMaxBodyIs413AndNothingReachesTheBackend) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Only the head is sent: the answer must not wait for a body it refuses.
  ASSERT_TRUE(client.sendRaw(
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 413);
  EXPECT_FALSE(response->keep_alive);
  EXPECT_EQ(response->header("Connection"), "close");
  ASSERT_TRUE(response->header("X-Request-ID").has_value());
  EXPECT_TRUE(identityIsGeneratedId(*response->header("X-Request-ID")));
  EXPECT_TRUE(client.waitForPeerClose());
  EXPECT_EQ(stats(0).requests, 0u) << "not a byte went upstream";

  // At the limit it passes; a route's larger limit replaces the listener's.
  HttpClient fits;
  ASSERT_NO_FATAL_FAILURE(connect(&fits));
  std::optional<Response> small = fits.request("POST", "/echo", {}, std::string(1024, 'x'));
  ASSERT_TRUE(small.has_value()) << fits.lastError();
  EXPECT_EQ(small->status, 200);
  std::optional<Response> big = fits.request("POST", "/big/x", {}, std::string(5000, 'x'));
  ASSERT_TRUE(big.has_value()) << fits.lastError();
  EXPECT_NE(big->status, 413) << "the route allows 1MiB";
  EXPECT_EQ(stats(0).requests, 2u);

  const std::vector<nlohmann::ordered_json> lines = identityLogLines(log_, 3);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0]["status"], 413);
  EXPECT_EQ(lines[0]["request_id"], *response->header("X-Request-ID")) << "logged by its id";
}

TEST_F(RequestIdentityTest, ChunkedBodyOverMaxBodyIs413AsSoonAsItPassesTheLimit) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(
      client.sendRaw("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "258\r\n" +
                     std::string(600, 'a') + "\r\n"));
  // 600 bytes are within the limit: nothing is answered yet. 600 more pass it.
  ASSERT_TRUE(client.sendRaw("258\r\n" + std::string(600, 'b') + "\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 413);
  EXPECT_FALSE(response->keep_alive);
  EXPECT_TRUE(client.waitForPeerClose());
  // The backend never saw a complete request: the proxy reset its connection mid-body, so the
  // demo backend answered nothing (it counts heads, but /echo completes only with the body).
  const std::vector<nlohmann::ordered_json> lines = identityLogLines(log_, 1);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["status"], 413);
}

TEST_F(RequestIdentityTest, GeneratedIdGoesUpstreamBackToTheClientAndIntoTheLog) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  std::optional<Response> response = httpGet(port(), "/echo");
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  const std::optional<std::string> id = response->header("X-Request-ID");
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(identityIsGeneratedId(*id)) << *id;
  EXPECT_EQ(response->headerCount("X-Request-ID"), 1u);
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value());
  EXPECT_THAT(echoedHeader(*echo, "X-Request-ID"), ElementsAre(*id));

  std::optional<Response> second = httpGet(port(), "/echo");
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->header("X-Request-ID"), id) << "a new id per request";

  const std::vector<nlohmann::ordered_json> lines = identityLogLines(log_, 2);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0]["request_id"], *id);
}

TEST_F(RequestIdentityTest, ClientIdIsKeptUnlessTheRouteAlwaysReplacesIt) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  std::optional<Response> kept = httpGet(port(), "/echo", {{"X-Request-ID", "client-42"}});
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->header("X-Request-ID"), "client-42");
  std::optional<nlohmann::json> echo = parseJson(kept->body);
  ASSERT_TRUE(echo.has_value());
  EXPECT_THAT(echoedHeader(*echo, "X-Request-ID"), ElementsAre("client-42"));

  // /strict/ replaces it: the backend and the client see one id, the proxy's.
  std::optional<Response> replaced =
      httpGet(port(), "/strict/echo", {{"X-Request-ID", "client-42"}});
  ASSERT_TRUE(replaced.has_value());
  ASSERT_TRUE(replaced->header("X-Request-ID").has_value());
  EXPECT_TRUE(identityIsGeneratedId(*replaced->header("X-Request-ID")));

  // An id that could not be logged safely is replaced too.
  std::optional<Response> unusable =
      httpGet(port(), "/echo", {{"X-Request-ID", std::string(300, 'z')}});
  ASSERT_TRUE(unusable.has_value());
  EXPECT_TRUE(identityIsGeneratedId(unusable->header("X-Request-ID").value_or("")));
  echo = parseJson(unusable->body);
  ASSERT_TRUE(echo.has_value());
  EXPECT_THAT(echoedHeader(*echo, "X-Request-ID"), ElementsAre(*unusable->header("X-Request-ID")));

  const std::vector<nlohmann::ordered_json> lines = identityLogLines(log_, 3);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0]["request_id"], "client-42");
  EXPECT_EQ(lines[1]["request_id"], *replaced->header("X-Request-ID"));
}

TEST_F(RequestIdentityTest, TraceparentGivesTheIdAndPassesUnchanged) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  std::optional<Response> response =
      httpGet(port(), "/echo", {{"traceparent", kIdentityTraceparent}});
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->header("X-Request-ID"), kIdentityTraceId);
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value());
  EXPECT_THAT(echoedHeader(*echo, "traceparent"), ElementsAre(kIdentityTraceparent));
  EXPECT_THAT(echoedHeader(*echo, "X-Request-ID"), ElementsAre(kIdentityTraceId));

  // A malformed traceparent is passed on as it is, and the id is generated.
  std::optional<Response> bad = httpGet(port(), "/echo", {{"traceparent", "00-nope"}});
  ASSERT_TRUE(bad.has_value());
  EXPECT_TRUE(identityIsGeneratedId(bad->header("X-Request-ID").value_or("")));
  const std::optional<nlohmann::json> bad_echo = parseJson(bad->body);
  ASSERT_TRUE(bad_echo.has_value());
  EXPECT_THAT(echoedHeader(*bad_echo, "traceparent"), ElementsAre("00-nope"));
}

TEST_F(RequestIdentityTest, ChosenAccessLogFieldsInTheirOrder) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy(
      "fields = [\"request_id\", \"host\", \"user_agent\", \"referer\", \"status\", "
      "\"protocol\", \"route\", \"upstream_connect_ms\", \"upstream_header_ms\", "
      "\"upstream_total_ms\", \"client_ip\"]\n"));
  std::optional<Response> response =
      httpGet(port(), "/echo",
              {{"Host", "shop.test"}, {"User-Agent", "shaping/1 \"q\""}, {"X-Request-ID", "r-1"}});
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  const std::vector<nlohmann::ordered_json> lines = identityLogLines(log_, 1);
  ASSERT_THAT(lines, SizeIs(1));
  const nlohmann::ordered_json& line = lines[0];
  std::vector<std::string> keys;
  for (const auto& item : line.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ElementsAre("request_id", "host", "user_agent", "referer", "status", "protocol",
                                "route", "upstream_connect_ms", "upstream_header_ms",
                                "upstream_total_ms", "client_ip"));
  EXPECT_EQ(line["request_id"], "r-1");
  EXPECT_EQ(line["host"], "shop.test");
  EXPECT_EQ(line["user_agent"], "shaping/1 \"q\"");
  EXPECT_TRUE(line["referer"].is_null());
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["protocol"], "HTTP/1.1");
  EXPECT_EQ(line["route"], "default");
  EXPECT_EQ(line["client_ip"], "127.0.0.1");
  ASSERT_TRUE(line["upstream_connect_ms"].is_number());
  ASSERT_TRUE(line["upstream_header_ms"].is_number());
  ASSERT_TRUE(line["upstream_total_ms"].is_number());
  EXPECT_LE(line["upstream_connect_ms"].get<double>(), line["upstream_header_ms"].get<double>());
  EXPECT_LE(line["upstream_header_ms"].get<double>(), line["upstream_total_ms"].get<double>());
}

// Header templates see the request's id: the generated one, not only a client's X-Request-ID.
TEST_F(RequestIdentityTest, TemplatesExpandTheGeneratedId) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      absl::StrCat("[[listeners]]\nlisten = \"127.0.0.1:0\"\nrequest_id = \"X-Request-ID\"\n\n",
                   "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:", backendPort(0),
                   "\"]\n\n", "[[routes]]\nname = \"default\"\npool = \"blue\"\n",
                   "request_headers = { set = { \"X-Trace\" = \"id={request_id}\" } }\n",
                   "response_headers = { set = { \"X-Seen-Id\" = \"{request_id}\" } }\n")));
  std::optional<Response> response = httpGet(port(), "/echo");
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  const std::optional<std::string> id = response->header("X-Request-ID");
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(identityIsGeneratedId(*id)) << *id;
  EXPECT_EQ(response->header("X-Seen-Id"), id);
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value());
  EXPECT_THAT(echoedHeader(*echo, "X-Trace"), ElementsAre("id=" + *id));
}

TEST_F(RequestIdentityTest, ProcessMetricsArePresentAndSane) {
  ASSERT_NO_FATAL_FAILURE(startShapingProxy());
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  std::string raw;
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port, &raw);
  ASSERT_TRUE(metrics.ok()) << metrics.status() << "\n" << raw;
  for (const char* family : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                             "process_start_time_seconds"}) {
    EXPECT_TRUE(metrics->value(family).has_value()) << family << "\n" << raw;
  }
  EXPECT_EQ(metrics->types().at("process_cpu_seconds_total"), "counter");
  EXPECT_EQ(metrics->types().at("process_open_fds"), "gauge");
  EXPECT_GE(metrics->value("process_cpu_seconds_total").value_or(-1), 0);
  const double rss = metrics->value("process_resident_memory_bytes").value_or(0);
  EXPECT_GT(rss, 1 << 20);
  EXPECT_LT(rss, 4.0 * (1 << 30));
  EXPECT_GE(metrics->value("process_virtual_memory_bytes").value_or(0), rss);
  const double open_fds = metrics->value("process_open_fds").value_or(0);
  EXPECT_GE(open_fds, 5) << "listeners, loops, the log";
  EXPECT_LE(open_fds, metrics->value("process_max_fds").value_or(0));
  const double start = metrics->value("process_start_time_seconds").value_or(0);
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(start, now + 1);
  EXPECT_GE(start, now - 120) << "started by this test";
}

}  // namespace
}  // namespace sy::testing
