// Blue/green switching under HTTP/2 load (issue 19): a switch applies per stream, so streams
// multiplexed on long-lived connections keep flowing across 100 switches without a failure,
// and a stream opened after the last switch answered goes to the final pool. Also the
// per-protocol request counter (switchyard_downstream_requests_by_protocol_total).
// Clients: python3-h2 (/usr/bin/python3; Debian python3-h2); the tests skip without it.

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/child_run.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One HTTP/2 connection keeping `streams` GETs in flight (a new one as soon as one ends) until
// the file `final` exists, then `after` more streams, each of which must be opened after the
// file was seen. Prints "started" at its first answer, then at the end
// "done ok=N failed=N before=<pool>:<n>,... after=<pool>:<n>,..." plus one "fail ..." line per
// failed stream (reset, non-200, the connection closed with streams open). Bounded: gives up
// after `limit` seconds.
constexpr char kHttp2SwitchingClient[] = R"PY(
import os, socket, sys, time
import h2.config, h2.connection, h2.events, h2.exceptions
port, streams, final, after, limit = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                      int(sys.argv[4]), float(sys.argv[5]))
deadline = time.monotonic() + limit
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                            header_encoding="utf-8"))
conn.initiate_connection()
conn.increment_flow_control_window(1 << 24)
sock.sendall(conn.data_to_send())
open_streams = {}   # stream id -> [status, body, opened after `final` was seen]
ok = failed = 0
counts = {False: {}, True: {}}
fails = []
saw_final = False
after_left = after
announced = False
def start_one():
    global after_left
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                            (":authority", "127.0.0.1")], end_stream=True)
    open_streams[sid] = [None, b"", saw_final]
    if saw_final:
        after_left -= 1
def top_up():
    global saw_final
    if not saw_final and os.path.exists(final):
        saw_final = True
    while len(open_streams) < streams and (not saw_final or after_left > 0):
        start_one()
top_up()
sock.sendall(conn.data_to_send())
while open_streams and time.monotonic() < deadline:
    try:
        data = sock.recv(65536)
    except socket.timeout:
        fails.append("recv timeout"); break
    if not data:
        fails.append("connection closed with %d streams open" % len(open_streams)); break
    for event in conn.receive_data(data):
        sid = getattr(event, "stream_id", None)
        if isinstance(event, h2.events.ResponseReceived):
            open_streams[sid][0] = dict(event.headers)[":status"]
        elif isinstance(event, h2.events.DataReceived):
            open_streams[sid][1] += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.StreamEnded):
            status, body, late = open_streams.pop(sid)
            if status == "200":
                ok += 1
                pool = body.decode().split("\n")[0]
                counts[late][pool] = counts[late].get(pool, 0) + 1
                if not announced:
                    print("started", flush=True); announced = True
            else:
                failed += 1; fails.append("stream %d: status %s" % (sid, status))
        elif isinstance(event, h2.events.StreamReset):
            open_streams.pop(sid, None)
            failed += 1; fails.append("stream %d: reset %d" % (sid, int(event.error_code)))
        elif isinstance(event, h2.events.ConnectionTerminated):
            fails.append("GOAWAY %d" % int(event.error_code))
    top_up()
    sock.sendall(conn.data_to_send())
if open_streams:
    failed += len(open_streams)
    fails.append("%d streams unanswered at the end" % len(open_streams))
for line in fails:
    print("fail", line)
fmt = lambda c: ",".join("%s:%d" % kv for kv in sorted(c.items())) or "-"
print("done ok=%d failed=%d before=%s after=%s" % (ok, failed, fmt(counts[False]),
                                                  fmt(counts[True])), flush=True)
)PY";

// The figures of a client's "done" line.
struct Http2SwitchingTally {
  int ok = -1;
  int failed = -1;
  std::string before;
  std::string after;
};

std::optional<Http2SwitchingTally> http2SwitchingParseDone(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    if (!absl::StartsWith(line, "done ")) continue;
    Http2SwitchingTally tally;
    for (absl::string_view field : absl::StrSplit(line.substr(5), ' ')) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
      if (kv.first == "ok" && !absl::SimpleAtoi(kv.second, &tally.ok)) return std::nullopt;
      if (kv.first == "failed" && !absl::SimpleAtoi(kv.second, &tally.failed)) return std::nullopt;
      if (kv.first == "before") tally.before = std::string(kv.second);
      if (kv.first == "after") tally.after = std::string(kv.second);
    }
    return tally;
  }
  return std::nullopt;
}

class Http2SwitchingTest : public AdminProxyTest {
 protected:
  void startBlueGreenHttp2() {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n",
        "http2 = true\n\n[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:", backendPort(0),
        "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", backendPort(1),
        "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n")));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }
};

TEST_F(Http2SwitchingTest, HundredSwitchesUnderMultiplexedLoadFailNoStream) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "/usr/bin/python3 has no h2 module";
  ASSERT_NO_FATAL_FAILURE(startBlueGreenHttp2());
  TempDir dir;
  const std::string script = dir.writeFile("h2_switching_client.py", kHttp2SwitchingClient);
  const std::string final_marker = dir.file("final");

  // 4 connections (one client process each), 25 streams in flight on each.
  constexpr int kConnections = 4;
  constexpr int kStreamsPerConnection = 25;
  constexpr int kStreamsAfterFinal = 50;
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (int i = 0; i < kConnections; ++i) {
    auto child = ChildProcess::start({"/usr/bin/python3", script, absl::StrCat(port()),
                                      absl::StrCat(kStreamsPerConnection), final_marker,
                                      absl::StrCat(kStreamsAfterFinal), "120"});
    ASSERT_TRUE(child.ok()) << child.status();
    clients.push_back(std::move(*child));
  }
  // Every connection has streams answered before the first switch.
  for (auto& client : clients) {
    ASSERT_TRUE(waitUntil(
        [&] {
          for (const std::string& line : client->stdoutLines()) {
            if (line == "started") return true;
          }
          return false;
        },
        milliseconds(30000)))
        << client->output();
  }

  constexpr int kSwitches = 100;
  std::string pool = "blue";
  for (int i = 0; i < kSwitches; ++i) {
    pool = pool == "blue" ? "green" : "blue";
    AdminResult result = admin("POST", absl::StrCat("/admin/switch?to=", pool));
    ASSERT_EQ(result.status, 200) << "switch " << i << ": " << result.body.dump();
  }
  EXPECT_EQ(pool, "blue") << "an even number of switches ends where it began";
  // Streams opened from now on (after the last switch answered) must all go to `pool`.
  {
    std::ofstream marker(final_marker);
    marker << "final\n";
  }

  int total_ok = 0;
  for (auto& client : clients) {
    const std::optional<int> code = client->waitExit(seconds(150));
    ASSERT_EQ(code, 0) << client->output();
    std::optional<Http2SwitchingTally> tally;
    waitUntil(
        [&] {
          tally = http2SwitchingParseDone(client->stdoutLines());
          return tally.has_value();
        },
        seconds(5));
    ASSERT_TRUE(tally.has_value()) << client->output();
    EXPECT_EQ(tally->failed, 0) << client->output();
    EXPECT_EQ(tally->after, absl::StrCat(pool, ":", kStreamsAfterFinal))
        << "every stream opened after the last switch goes to the final pool\n"
        << client->output();
    EXPECT_TRUE(absl::StrContains(tally->before, "blue") &&
                absl::StrContains(tally->before, "green"))
        << "both pools served streams while switching: " << tally->before;
    total_ok += tally->ok;
  }
  EXPECT_GE(total_ok, kConnections * kStreamsAfterFinal);

  // Each stream is one HTTP/2 request in the per-protocol counter.
  absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value("switchyard_downstream_requests_by_protocol_total",
                           {{"protocol", "HTTP/2.0"}}),
            std::optional<double>(total_ok));
}

TEST_F(Http2SwitchingTest, RequestsAreCountedByProtocol) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "/usr/bin/python3 has no h2 module";
  ASSERT_NO_FATAL_FAILURE(startBlueGreenHttp2());
  TempDir dir;
  const std::string script = dir.writeFile("h2_switching_client.py", kHttp2SwitchingClient);
  const std::string final_marker = dir.writeFile("final", "final\n");  // only the `after` streams

  constexpr int kHttp2Streams = 7;
  auto h2 = ChildProcess::start({"/usr/bin/python3", script, absl::StrCat(port()), "3",
                                 final_marker, absl::StrCat(kHttp2Streams), "60"});
  ASSERT_TRUE(h2.ok()) << h2.status();
  ASSERT_EQ((*h2)->waitExit(seconds(60)), 0) << (*h2)->output();

  constexpr int kHttp11 = 4;
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < kHttp11; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    ASSERT_EQ(response->status, 200);
  }
  constexpr int kHttp10 = 2;
  for (int i = 0; i < kHttp10; ++i) {
    HttpClient one_shot;
    ASSERT_NO_FATAL_FAILURE(connect(&one_shot));
    ASSERT_TRUE(one_shot.sendRaw("GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"))
        << one_shot.lastError();
    std::optional<Response> response = one_shot.readResponse();
    ASSERT_TRUE(response.has_value()) << one_shot.lastError();
    EXPECT_EQ(response->status, 200);
  }

  // Counters move as responses leave: a scrape may come a moment early.
  std::optional<Exposition> metrics;
  EXPECT_TRUE(waitUntil(
      [&] {
        absl::StatusOr<Exposition> scraped = scrapeMetrics(admin_port_);
        if (!scraped.ok()) return false;
        metrics = std::move(*scraped);
        return metrics->value("switchyard_downstream_requests_total") ==
               std::optional<double>(kHttp2Streams + kHttp11 + kHttp10);
      },
      milliseconds(10000)));
  ASSERT_TRUE(metrics.has_value());
  auto by_protocol = [&](const char* protocol) {
    return metrics->value("switchyard_downstream_requests_by_protocol_total",
                          {{"protocol", protocol}});
  };
  EXPECT_EQ(by_protocol("HTTP/2.0"), std::optional<double>(kHttp2Streams));
  EXPECT_EQ(by_protocol("HTTP/1.1"), std::optional<double>(kHttp11));
  EXPECT_EQ(by_protocol("HTTP/1.0"), std::optional<double>(kHttp10));
  EXPECT_EQ(metrics->types().at("switchyard_downstream_requests_by_protocol_total"), "counter");
}

}  // namespace
}  // namespace sy::testing
