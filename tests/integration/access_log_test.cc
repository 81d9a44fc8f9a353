// The JSON access log against real processes: one valid line per request with the documented
// fields in their order, values that match what was sent, a file or standard output, reopen on
// SIGUSR1 after logrotate moved the file, nothing lost at shutdown, off by default, and reloads
// that turn it on, move it and turn it off.

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using OrderedJson = nlohmann::ordered_json;

// The fields of a line, in the order every line has them (README "Metrics and logs").
const std::vector<std::string> kFields = {
    "time",      "client",      "method",     "path", "status",  "bytes_in",
    "bytes_out", "duration_ms", "route",      "pool", "backend", "upstream_ms",
    "retries",   "mirrored",    "limited_by", "tls",  "reason",  "request_id"};

// The complete lines of `path` (a last line without its newline is not complete yet).
std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines;
  std::string all = text.str();
  size_t start = 0;
  for (size_t newline; (newline = all.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    lines.push_back(all.substr(start, newline - start));
  }
  return lines;
}

// Waits up to 5 s for `path` to have at least `n` complete lines, then returns its lines.
std::vector<std::string> waitForLines(const std::string& path, size_t n) {
  std::vector<std::string> lines;
  waitUntil(
      [&] {
        lines = readLines(path);
        return lines.size() >= n;
      },
      seconds(5));
  return lines;
}

// What a line must say about one request.
struct Expected {
  std::string method;
  std::string path;
  int status = 0;
  std::string route;  // "" for null
  std::string pool;
  std::string backend;
};

// Checks one line: valid JSON, exactly kFields in that order, each of its type, and the values
// of `expected`. `not_before`/`not_after` bound the time field.
void checkLine(const std::string& line, const Expected& expected, absl::Time not_before,
               absl::Time not_after) {
  SCOPED_TRACE(line);
  const OrderedJson json = OrderedJson::parse(line, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << "not JSON";
  ASSERT_TRUE(json.is_object());
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  ASSERT_EQ(keys, kFields) << "fields or their order";

  ASSERT_TRUE(json["time"].is_string());
  const std::string time_text = json["time"].get<std::string>();
  absl::Time time;
  std::string error;
  ASSERT_EQ(time_text.size(), 24u) << "YYYY-MM-DDTHH:MM:SS.mmmZ";
  ASSERT_EQ(time_text.back(), 'Z');
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3S", time_text.substr(0, 23), absl::UTCTimeZone(),
                              &time, &error))
      << error;
  EXPECT_GE(time, not_before - absl::Seconds(1));
  EXPECT_LE(time, not_after + absl::Seconds(1));

  EXPECT_EQ(json["client"], "127.0.0.1");
  EXPECT_EQ(json["method"], expected.method);
  EXPECT_EQ(json["path"], expected.path);
  EXPECT_EQ(json["status"], expected.status);
  ASSERT_TRUE(json["bytes_in"].is_number_unsigned());
  ASSERT_TRUE(json["bytes_out"].is_number_unsigned());
  EXPECT_GT(json["bytes_in"].get<uint64_t>(), 0u);
  EXPECT_GT(json["bytes_out"].get<uint64_t>(), 0u);
  ASSERT_TRUE(json["duration_ms"].is_number());
  const double duration = json["duration_ms"].get<double>();
  EXPECT_GE(duration, 0);
  EXPECT_LT(duration, 10000);
  for (const auto& [field, value] :
       {std::pair{"route", expected.route}, std::pair{"pool", expected.pool},
        std::pair{"backend", expected.backend}}) {
    if (value.empty()) {
      EXPECT_TRUE(json[field].is_null()) << field;
    } else {
      EXPECT_EQ(json[field], value) << field;
    }
  }
  if (expected.backend.empty()) {
    EXPECT_TRUE(json["upstream_ms"].is_null()) << "no backend answered";
  } else {
    ASSERT_TRUE(json["upstream_ms"].is_number());
    EXPECT_GE(json["upstream_ms"].get<double>(), 0);
    EXPECT_LE(json["upstream_ms"].get<double>(), duration);
  }
  EXPECT_EQ(json["retries"], 0);
  EXPECT_EQ(json["mirrored"], false);
}

class AccessLogTest : public ProxyTest {
 protected:
  // Two routes by host, each to its own pool and demo backend: blue.test -> blue, green.test ->
  // green; `tail` is appended (an [access_log] table, say).
  std::string config(const std::string& tail, int workers = 2) {
    return absl::StrCat(
        "[server]\nworkers = ", workers,
        "\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
        "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:", backendPort(0), "\"]\n\n",
        "[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", backendPort(1), "\"]\n\n",
        "[[routes]]\nname = \"blue\"\nhosts = [\"blue.test\"]\npool = \"blue\"\n\n",
        "[[routes]]\nname = \"green\"\nhosts = [\"green.test\"]\npool = \"green\"\n\n", tail);
  }

  std::string accessLogTable(const std::string& path, const std::string& extra = "") {
    return absl::StrCat("[access_log]\npath = \"", path, "\"\nflush_interval = \"50ms\"\n", extra);
  }

  void startBackends() {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  }

  std::string backend(size_t index) { return absl::StrCat("127.0.0.1:", backendPort(index)); }

  // `count` GETs of `prefix`/i to blue.test, each on a fresh connection (so that both workers
  // take some); fails the test unless each answers 200.
  void sendGets(const std::string& prefix, int count) {
    for (int i = 0; i < count; ++i) {
      std::optional<Response> response =
          httpGet(port(), absl::StrCat(prefix, "/", i), {{"Host", "blue.test"}});
      ASSERT_TRUE(response.has_value());
      ASSERT_EQ(response->status, 200);
    }
  }

  // Stops the proxy with SIGTERM and expects exit code 0 (TearDown then has nothing to do).
  void stopProxy() {
    ASSERT_TRUE(proxy_.process->signal(SIGTERM));
    EXPECT_EQ(proxy_.process->waitExit(seconds(10)), std::optional<int>(0))
        << proxy_.process->output();
  }

  TempDir logs_;
};

TEST_F(AccessLogTest, EveryLineIsJsonWithTheDocumentedFieldsAndMatchesTheRequests) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable(log))));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  const absl::Time started = absl::Now();

  struct Request {
    std::string method;
    std::string host;
    std::string path;
    std::string body;
    Expected expected;
  };
  const std::vector<Request> requests = {
      {"GET", "blue.test", "/", "", {"GET", "/", 200, "blue", "blue", backend(0)}},
      {"HEAD", "blue.test", "/", "", {"HEAD", "/", 200, "blue", "blue", backend(0)}},
      {"POST",
       "green.test",
       "/echo",
       "hello, log",
       {"POST", "/echo", 200, "green", "green", backend(1)}},
      {"GET",
       "green.test",
       "/status/503",
       "",
       {"GET", "/status/503", 503, "green", "green", backend(1)}},
      {"GET",
       "blue.test",
       "/status/404",
       "",
       {"GET", "/status/404", 404, "blue", "blue", backend(0)}},
      {"DELETE",
       "green.test",
       "/items/7",
       "",
       {"DELETE", "/items/7", 200, "green", "green", backend(1)}},
      {"GET",
       "blue.test",
       "/search?q=a%20b&x=1",
       "",
       {"GET", "/search?q=a%20b&x=1", 200, "blue", "blue", backend(0)}},
      // A target JSON must escape: the line stays valid JSON. (The backslash is in the query: in
      // the path, it is refused unless the listener sets allow_encoded_slash.)
      {"GET",
       "blue.test",
       "/a?b=\\&q=\"x\"",
       "",
       {"GET", "/a?b=\\&q=\"x\"", 200, "blue", "blue", backend(0)}},
      // Non-ASCII travels percent-encoded (raw bytes are refused: RawBytesInTheTarget...).
      {"GET",
       "blue.test",
       "/caf%C3%A9",
       "",
       {"GET", "/caf%C3%A9", 200, "blue", "blue", backend(0)}},
      {"GET", "nowhere.test", "/missing", "", {"GET", "/missing", 404, "", "", ""}},
  };
  // One connection: one worker, whose lines keep the order of the requests.
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (const Request& r : requests) {
    std::optional<Response> response = client.request(r.method, r.path, {{"Host", r.host}}, r.body);
    ASSERT_TRUE(response.has_value()) << r.path << ": " << client.lastError();
    ASSERT_EQ(response->status, r.expected.status) << r.method << " " << r.path;
  }
  client.close();

  const std::vector<std::string> lines = waitForLines(log, requests.size());
  const absl::Time finished = absl::Now();
  ASSERT_EQ(lines.size(), requests.size()) << absl::StrJoin(lines, "\n");
  for (size_t i = 0; i < requests.size(); ++i) {
    checkLine(lines[i], requests[i].expected, started, finished);
  }
  const OrderedJson post = OrderedJson::parse(lines[2]);
  EXPECT_GE(post["bytes_in"].get<uint64_t>(), requests[2].body.size()) << "the body counts";

  // Nothing more comes (one line per request, not per connection or per try).
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(readLines(log).size(), requests.size());

  // bytes_out is what the clients received: its sum is the proxy's sent-bytes counter.
  uint64_t bytes_out = 0;
  for (const std::string& line : lines)
    bytes_out += OrderedJson::parse(line)["bytes_out"].get<uint64_t>();
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value("switchyard_downstream_sent_bytes_total"),
            std::optional<double>(static_cast<double>(bytes_out)));
}

// bytes_in is what the client sent for the request: request line, headers, every CRLF, body.
TEST_F(AccessLogTest, BytesInIsTheRequestSizeAsReceived) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable(log))));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();

  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  const std::string get = client.buildRequest("GET", "/", {{"Host", "blue.test"}});
  const std::string post =
      client.buildRequest("POST", "/echo", {{"Host", "green.test"}}, std::string(1000, 'x'));
  ASSERT_TRUE(client.sendRaw(get));
  ASSERT_TRUE(client.readResponse().has_value());
  ASSERT_TRUE(client.sendRaw(post));
  ASSERT_TRUE(client.readResponse().has_value());
  client.close();

  const std::vector<std::string> lines = waitForLines(log, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(OrderedJson::parse(lines[0])["bytes_in"], get.size());
  EXPECT_EQ(OrderedJson::parse(lines[1])["bytes_in"], post.size());
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value("switchyard_downstream_received_bytes_total"),
            std::optional<double>(static_cast<double>(get.size() + post.size())));
}

// Requests the parser refused, and requests whose client left before an answer, are logged too
// (status 400 with no route; status 499 like nginx).
TEST_F(AccessLogTest, RefusedAndAbandonedRequestsAreLogged) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable(log))));

  HttpClient refused;
  ASSERT_NO_FATAL_FAILURE(connect(&refused));
  ASSERT_TRUE(refused.sendRaw("GET /bad HTTP/1.1\r\nHost: blue.test\r\nX-A: one\r\n two\r\n\r\n"));
  std::optional<Response> answer = refused.readResponse();
  ASSERT_TRUE(answer.has_value()) << refused.lastError();
  EXPECT_EQ(answer->status, 400);

  HttpClient impatient;
  ASSERT_NO_FATAL_FAILURE(connect(&impatient));
  ASSERT_TRUE(impatient.sendRaw("GET /delay/2000 HTTP/1.1\r\nHost: blue.test\r\n\r\n"));
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests + stats(1).requests >= 1; }, seconds(5)));
  // Gone for good: a reset, not a half-close (a half-closed client still gets its answer).
  const linger abort_on_close{1, 0};
  ASSERT_EQ(
      ::setsockopt(impatient.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close),
      0);
  impatient.close();

  const std::vector<std::string> lines = waitForLines(log, 2);
  ASSERT_EQ(lines.size(), 2u);
  std::map<int, OrderedJson> by_status;
  for (const std::string& line : lines) {
    OrderedJson json = OrderedJson::parse(line);
    by_status[json["status"].get<int>()] = json;
  }
  ASSERT_EQ(by_status.count(400), 1u) << lines[0] << "\n" << lines[1];
  EXPECT_TRUE(by_status[400]["route"].is_null());
  EXPECT_TRUE(by_status[400]["pool"].is_null());
  EXPECT_GT(by_status[400]["bytes_in"].get<uint64_t>(), 0u);
  ASSERT_EQ(by_status.count(499), 1u) << lines[0] << "\n" << lines[1];
  EXPECT_EQ(by_status[499]["method"], "GET");
  EXPECT_EQ(by_status[499]["path"], "/delay/2000");
  EXPECT_FALSE(by_status[499]["pool"].is_null());
}

// A request-target is ASCII (RFC 9112 §3.2, RFC 3986 §2): raw UTF-8 or other bytes above 0x7F
// are refused with 400 (as HAProxy does), and the refusal still logs one valid JSON line.
TEST_F(AccessLogTest, RawBytesInTheTargetAreRefusedAndLoggedAsValidJson) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable(log))));
  for (const std::string target : {"/caf\xc3\xa9", "/bad\xff"}) {
    HttpClient client;
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    ASSERT_TRUE(client.sendRaw("GET " + target + " HTTP/1.1\r\nHost: blue.test\r\n\r\n"));
    std::optional<Response> answer = client.readResponse();
    ASSERT_TRUE(answer.has_value()) << client.lastError();
    EXPECT_EQ(answer->status, 400);
  }
  const std::vector<std::string> lines = waitForLines(log, 2);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    const OrderedJson json = OrderedJson::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(json.is_discarded()) << line;
    EXPECT_EQ(json["status"], 400) << line;
  }
}

TEST_F(AccessLogTest, DashWritesToStandardOutput) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable("-"))));
  ASSERT_NO_FATAL_FAILURE(sendGets("/out", 5));
  ASSERT_TRUE(waitUntil([&] { return proxy_.process->stdoutLines().size() >= 5; }, seconds(5)))
      << proxy_.process->output();
  const std::vector<std::string> out = proxy_.process->stdoutLines();
  ASSERT_EQ(out.size(), 5u) << absl::StrJoin(out, "\n");
  std::vector<std::string> paths;
  for (const std::string& line : out) {
    const OrderedJson json = OrderedJson::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << line;
    paths.push_back(json.value("path", ""));
  }
  std::sort(paths.begin(), paths.end());  // two workers: their lines may interleave
  EXPECT_EQ(paths, (std::vector<std::string>{"/out/0", "/out/1", "/out/2", "/out/3", "/out/4"}));
  // The event log stays on standard error, without access lines.
  for (const std::string& line : proxy_.process->stderrLines()) {
    EXPECT_EQ(line.find("\"bytes_out\""), std::string::npos) << line;
  }
}

TEST_F(AccessLogTest, Sigusr1AfterRenameWritesNewLinesToAFreshFileWithTheOldName) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  const std::string rotated = logs_.file("access.log.1");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(accessLogTable(log))));

  ASSERT_NO_FATAL_FAILURE(sendGets("/before", 10));
  ASSERT_EQ(waitForLines(log, 10).size(), 10u);

  // logrotate renames the file; until the signal, the proxy keeps writing to the renamed one.
  std::filesystem::rename(log, rotated);
  ASSERT_NO_FATAL_FAILURE(sendGets("/between", 4));
  ASSERT_EQ(waitForLines(rotated, 14).size(), 14u);
  EXPECT_FALSE(std::filesystem::exists(log));

  // postrotate: kill -USR1.
  const size_t from_line = proxy_.process->lines().size();
  ASSERT_TRUE(proxy_.process->signal(SIGUSR1));
  const std::optional<nlohmann::json> reopened =
      waitForLogEvent(*proxy_.process, "access_log_reopened", seconds(5), from_line);
  ASSERT_TRUE(reopened.has_value()) << proxy_.process->output();
  EXPECT_EQ((*reopened)["path"], log);
  ASSERT_NO_FATAL_FAILURE(sendGets("/after", 6));

  const std::vector<std::string> fresh = waitForLines(log, 6);
  std::this_thread::sleep_for(milliseconds(200));  // anything misdirected would show by now
  const std::vector<std::string> old = readLines(rotated);
  ASSERT_EQ(fresh.size(), 6u) << absl::StrJoin(fresh, "\n");
  ASSERT_EQ(readLines(log).size(), 6u);
  ASSERT_EQ(old.size(), 14u) << absl::StrJoin(old, "\n");
  for (const std::string& line : fresh) {
    EXPECT_EQ(OrderedJson::parse(line)["path"].get<std::string>().rfind("/after/", 0), 0u) << line;
  }
  for (const std::string& line : old) {
    const std::string path = OrderedJson::parse(line)["path"].get<std::string>();
    EXPECT_TRUE(path.rfind("/before/", 0) == 0 || path.rfind("/between/", 0) == 0) << line;
  }
  struct stat info {};
  ASSERT_EQ(::stat(log.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_NE(info.st_mode & S_IWUSR, 0u);
}

TEST_F(AccessLogTest, LinesBufferedAtShutdownAreWrittenBeforeExit) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  // Neither the timer (1 minute) nor a full buffer (1 MiB) writes anything during the test.
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(absl::StrCat(
      "[access_log]\npath = \"", log, "\"\nflush_interval = \"1m\"\nbuffer_bytes = 1048576\n"))));
  ASSERT_NO_FATAL_FAILURE(sendGets("/buffered", 8));
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(std::filesystem::exists(log)) << "the file is opened at startup";
  EXPECT_EQ(readLines(log).size(), 0u) << "lines are buffered, not written per request";

  ASSERT_NO_FATAL_FAILURE(stopProxy());
  const std::vector<std::string> lines = readLines(log);
  EXPECT_EQ(lines.size(), 8u) << absl::StrJoin(lines, "\n");
  std::ifstream in(log, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(!all.empty() && all.back() == '\n') << "no partial line at the end";
}

TEST_F(AccessLogTest, AFullBufferIsWrittenWithoutWaitingForTheTimer) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string log = logs_.file("access.log");
  // The timer would wait a minute: only a full buffer (1024 bytes) is written during the test.
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(config(absl::StrCat("[access_log]\npath = \"", log,
                                         "\"\nflush_interval = \"1m\"\nbuffer_bytes = 1024\n"),
                            /*workers=*/1)));
  // Each of these lines is longer than the buffer on its own: each is written at once.
  const std::string long_path = "/full/" + std::string(1100, 'x');
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = httpGet(port(), long_path, {{"Host", "blue.test"}});
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(waitForLines(log, i + 1).size(), static_cast<size_t>(i + 1))
        << "a full buffer is written without waiting for the timer";
  }
  // A short line (about 250 bytes) does not fill the emptied buffer: it waits.
  ASSERT_NO_FATAL_FAILURE(sendGets("/short", 1));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(readLines(log).size(), 3u) << "a buffer that is not full waits for the timer";
  ASSERT_NO_FATAL_FAILURE(stopProxy());
  const std::vector<std::string> lines = readLines(log);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[3].find("\"path\":\"/short/0\""), std::string::npos) << lines[3];
}

TEST_F(AccessLogTest, OffByDefault) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config("")));
  ASSERT_NO_FATAL_FAILURE(sendGets("/quiet", 5));
  std::optional<Response> no_route = httpGet(port(), "/", {{"Host", "nowhere.test"}});
  ASSERT_TRUE(no_route.has_value());
  EXPECT_EQ(no_route->status, 404);
  // SIGUSR1 without an access log changes nothing and stops nothing.
  ASSERT_TRUE(proxy_.process->signal(SIGUSR1));
  ASSERT_NO_FATAL_FAILURE(sendGets("/still-serving", 1));
  ASSERT_NO_FATAL_FAILURE(stopProxy());  // whatever was buffered would be written now
  EXPECT_TRUE(proxy_.process->stdoutLines().empty())
      << absl::StrJoin(proxy_.process->stdoutLines(), "\n");
  for (const std::string& line : proxy_.process->stderrLines()) {
    EXPECT_EQ(line.find("\"bytes_out\""), std::string::npos) << line;
    EXPECT_EQ(line.find("access_log"), std::string::npos) << line;
  }
}

TEST_F(AccessLogTest, ReloadTurnsTheLogOnMovesItAndTurnsItOff) {
  ASSERT_NO_FATAL_FAILURE(startBackends());
  const std::string first = logs_.file("first.log");
  const std::string second = logs_.file("second.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config("")));
  ASSERT_NO_FATAL_FAILURE(sendGets("/off", 2));

  auto reload = [&](const std::string& tail) {
    absl::StatusOr<nlohmann::json> event = proxy_.reload(config(tail));
    ASSERT_TRUE(event.ok()) << event.status();
    ASSERT_EQ((*event)["event"], "config_reloaded") << event->dump();
  };
  ASSERT_NO_FATAL_FAILURE(reload(accessLogTable(first)));
  ASSERT_NO_FATAL_FAILURE(sendGets("/first", 3));
  ASSERT_EQ(waitForLines(first, 3).size(), 3u);

  ASSERT_NO_FATAL_FAILURE(reload(accessLogTable(second)));
  ASSERT_NO_FATAL_FAILURE(sendGets("/second", 4));
  ASSERT_EQ(waitForLines(second, 4).size(), 4u);

  ASSERT_NO_FATAL_FAILURE(reload(""));
  ASSERT_NO_FATAL_FAILURE(sendGets("/off-again", 2));
  ASSERT_NO_FATAL_FAILURE(stopProxy());

  const std::vector<std::string> first_lines = readLines(first);
  const std::vector<std::string> second_lines = readLines(second);
  ASSERT_EQ(first_lines.size(), 3u) << absl::StrJoin(first_lines, "\n");
  ASSERT_EQ(second_lines.size(), 4u) << absl::StrJoin(second_lines, "\n");
  for (const std::string& line : first_lines) {
    EXPECT_NE(line.find("\"path\":\"/first/"), std::string::npos) << line;
  }
  for (const std::string& line : second_lines) {
    EXPECT_NE(line.find("\"path\":\"/second/"), std::string::npos) << line;
  }
  EXPECT_TRUE(proxy_.process->stdoutLines().empty());
}

}  // namespace
}  // namespace sy::testing
