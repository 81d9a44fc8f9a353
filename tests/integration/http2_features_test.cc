// Every feature works per HTTP/2 stream as it does per HTTP/1.1 request (issue 19): A/B rules
// and sticky canary splits, mirroring, retries, timeouts, and flow control tied to backpressure
// (a slow backend does not hold the other streams; a stream whose client stops reading stops
// its backend, not the connection). Each test puts its streams on ONE connection, so what is
// checked is per stream. Client: a python3-h2 script (/usr/bin/python3; Debian python3-h2);
// the tests skip without it.

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_run.h"
#include "tests/support/digest.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sizes.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One HTTP/2 connection; argv: port, then a JSON spec {"requests": [{"path", "method"?,
// "headers"? [[name, value], ...], "body"?}, ...], "hold"?: file, "limit"?: seconds}. Every
// request is sent at once, each on its own stream. Prints one JSON line per stream as it ends,
// in the order they end: {"i" (the request's index), "status", "end" ("end" or "reset CODE"),
// "pool" (the body's first line: the demo backend's name), "bytes", "sha256"}.
// With "hold", the first stream's DATA is not acknowledged (its window stays closed after the
// first 65,535 bytes) until that file exists; "others done" is printed once every other stream
// has ended while it is held. The connection's own window is opened wide, so only the held
// stream's window limits the proxy. Gives up after "limit" seconds (default 60).
constexpr char kHttp2FeaturesClient[] = R"PY(
import hashlib, json, os, socket, sys, time
import h2.config, h2.connection, h2.events
port, spec = int(sys.argv[1]), json.loads(sys.argv[2])
hold = spec.get("hold")
deadline = time.monotonic() + spec.get("limit", 60)
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                            header_encoding="utf-8"))
conn.initiate_connection()
conn.increment_flow_control_window(1 << 30)
streams = {}
for i, request in enumerate(spec["requests"]):
    sid = conn.get_next_available_stream_id()
    body = request.get("body", "").encode()
    conn.send_headers(sid, [(":method", request.get("method", "GET")), (":path", request["path"]),
                            (":scheme", "http"), (":authority", "127.0.0.1")] +
                      [tuple(h) for h in request.get("headers", [])], end_stream=not body)
    for at in range(0, len(body), 16384):
        conn.send_data(sid, body[at:at + 16384], end_stream=at + 16384 >= len(body))
    streams[sid] = {"i": i, "status": None, "head": b"", "bytes": 0, "sha": hashlib.sha256(),
                    "unacked": 0}
sock.sendall(conn.data_to_send())
first = min(streams)
held = hold is not None
said_others_done = False
def finish(sid, how):
    s = streams.pop(sid)
    print(json.dumps({"i": s["i"], "status": s["status"], "end": how, "bytes": s["bytes"],
                      "pool": s["head"].decode(errors="replace").split("\n")[0],
                      "sha256": s["sha"].hexdigest()}), flush=True)
sock.settimeout(0.05 if held else 10)
while streams and time.monotonic() < deadline:
    if held and os.path.exists(hold):
        held = False
        if first in streams:
            conn.acknowledge_received_data(streams[first]["unacked"], first)
            conn.increment_flow_control_window(1 << 24, first)
        sock.settimeout(10)
        sock.sendall(conn.data_to_send())
    try:
        data = sock.recv(1 << 20)
    except socket.timeout:
        if held:
            continue
        print("recv timeout", flush=True); break
    if not data:
        print("closed", flush=True); break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ConnectionTerminated):
            print("goaway %d" % int(event.error_code), flush=True)
        sid = getattr(event, "stream_id", None)
        if sid not in streams:
            continue
        s = streams[sid]
        if isinstance(event, h2.events.ResponseReceived):
            s["status"] = int(dict(event.headers)[":status"])
        elif isinstance(event, h2.events.DataReceived):
            s["bytes"] += len(event.data)
            s["sha"].update(event.data)
            if len(s["head"]) < 64:
                s["head"] += event.data[:64]
            if held and sid == first:
                s["unacked"] += event.flow_controlled_length
            else:
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.StreamEnded):
            finish(sid, "end")
        elif isinstance(event, h2.events.StreamReset):
            finish(sid, "reset %d" % int(event.error_code))
    if held and not said_others_done and list(streams) == [first]:
        said_others_done = True
        print("others done", flush=True)
    sock.sendall(conn.data_to_send())
)PY";

// The other direction: one connection, stream 1 a POST to /upload of `size` bytes sent as fast
// as the stream's window allows. Once the file `go` exists, a GET / on a new stream; when that
// ended, prints {"get": status, "pool": first line, "uploaded": bytes of the POST sent} and
// exits (the POST still open). argv: port, size, go, limit (seconds).
constexpr char kHttp2UploadClient[] = R"PY(
import json, os, socket, sys, time
import h2.config, h2.connection, h2.events
port, size, go, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + limit
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.settimeout(0.05)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                            header_encoding="utf-8"))
conn.initiate_connection()
upload = conn.get_next_available_stream_id()
conn.send_headers(upload, [(":method", "POST"), (":path", "/upload"), (":scheme", "http"),
                           (":authority", "127.0.0.1"), ("content-length", str(size))])
chunk = b"u" * 16384
sent = 0
get, status, head = None, None, b""
def push():
    global sent
    while sent < size:
        n = min(len(chunk), size - sent, conn.local_flow_control_window(upload),
                conn.max_outbound_frame_size)
        if n <= 0:
            return
        conn.send_data(upload, chunk[:n], end_stream=sent + n == size)
        sent += n
push()
sock.sendall(conn.data_to_send())
done = False
while not done and time.monotonic() < deadline:
    if get is None and os.path.exists(go):
        get = conn.get_next_available_stream_id()
        conn.send_headers(get, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                (":authority", "127.0.0.1")], end_stream=True)
        sock.sendall(conn.data_to_send())
    try:
        data = sock.recv(65536)
    except socket.timeout:
        continue
    if not data:
        print("closed", flush=True); break
    for event in conn.receive_data(data):
        sid = getattr(event, "stream_id", None)
        if isinstance(event, h2.events.ResponseReceived) and sid == get:
            status = int(dict(event.headers)[":status"])
        elif isinstance(event, h2.events.DataReceived):
            conn.acknowledge_received_data(event.flow_controlled_length, sid)
            if sid == get:
                head += event.data
        elif isinstance(event, h2.events.StreamEnded) and sid == get:
            done = True
        elif isinstance(event, h2.events.StreamReset):
            print("reset %d %d" % (sid, int(event.error_code)), flush=True)
    push()
    sock.sendall(conn.data_to_send())
print(json.dumps({"get": status, "pool": head.decode(errors="replace").split("\n")[0],
                  "uploaded": sent}), flush=True)
)PY";

// One stream's end, as the client printed it.
struct Http2StreamEnd {
  int index = -1;
  int status = 0;
  std::string end;
  std::string pool;
  uint64_t bytes = 0;
  std::string sha256;
};

std::optional<Http2StreamEnd> http2FeaturesParseEnd(const std::string& line) {
  const std::optional<nlohmann::json> json = parseJson(line);
  if (!json.has_value() || !json->is_object() || !json->contains("i")) return std::nullopt;
  Http2StreamEnd end;
  end.index = (*json)["i"].get<int>();
  if ((*json)["status"].is_number()) end.status = (*json)["status"].get<int>();
  end.end = (*json)["end"].get<std::string>();
  end.pool = (*json)["pool"].get<std::string>();
  end.bytes = (*json)["bytes"].get<uint64_t>();
  end.sha256 = (*json)["sha256"].get<std::string>();
  return end;
}

// The stream ends of a client's output, in the order the streams ended.
std::vector<Http2StreamEnd> http2FeaturesEnds(const std::vector<std::string>& lines) {
  std::vector<Http2StreamEnd> ends;
  for (const std::string& line : lines) {
    if (std::optional<Http2StreamEnd> end = http2FeaturesParseEnd(line)) ends.push_back(*end);
  }
  return ends;
}

nlohmann::json http2Get(const std::string& path, const Headers& headers = {}) {
  nlohmann::json request = {{"path", path}};
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& header : headers) fields.push_back({header.first, header.second});
  if (!fields.empty()) request["headers"] = fields;
  return request;
}

// Waits until at least 16 KiB stay queued on `server_port`'s connections for 20 polls in a row
// (a reader would drain them between two polls): someone stopped reading.
bool http2FeaturesWaitForStall(uint16_t server_port) {
  int steady_polls = 0;
  return waitUntil(
      [&] {
        steady_polls = kernelQueuedBytes(server_port) >= 16 * 1024 ? steady_polls + 1 : 0;
        return steady_polls >= 20;
      },
      milliseconds(20000));
}

class Http2FeaturesTest : public AdminProxyTest {
 protected:
  void SetUp() override {
    if (!pythonModulePresent("h2")) GTEST_SKIP() << "/usr/bin/python3 has no h2 module";
  }

  // Listener "http" (h2c and HTTP/1.1), pools "blue" (backends `blue`, a TOML array) and
  // "green" (backend 1 when there is one), route "web" to blue with `route_extra`; `pool_extra`
  // goes into blue's table; `tables_first` (more pools and routes) goes before route "web",
  // whose empty match would win over any route after it.
  std::string http2FeaturesConfig(const std::string& blue, const std::string& route_extra = "",
                                  const std::string& pool_extra = "",
                                  const std::string& tables_first = "") {
    std::string toml = absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
        "http2 = true\n\n[[pools]]\nname = \"blue\"\nbackends = ",
        blue, "\n", pool_extra, "\n");
    if (backends_.size() > 1) {
      absl::StrAppend(&toml,
                      "[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:", backendPort(1),
                      "\"]\n\n");
    }
    absl::StrAppend(&toml, tables_first, "[[routes]]\nname = \"web\"\npool = \"blue\"\n",
                    route_extra, "\n");
    return toml;
  }

  std::string backendList(size_t index) const {
    return absl::StrCat("[\"127.0.0.1:", backendPort(index), "\"]");
  }

  // Runs the client to its end on one connection; its stream ends in the order they ended.
  std::vector<Http2StreamEnd> runStreams(const nlohmann::json& requests,
                                         seconds timeout = seconds(60)) {
    const nlohmann::json spec = {{"requests", requests}, {"limit", timeout.count()}};
    const std::vector<std::string> lines = runPythonToEnd(
        kHttp2FeaturesClient, {std::to_string(port()), spec.dump()}, timeout + seconds(10));
    std::vector<Http2StreamEnd> ends = http2FeaturesEnds(lines);
    EXPECT_EQ(ends.size(), requests.size()) << absl::StrJoin(lines, "\n");
    return ends;
  }
};

TEST_F(Http2FeaturesTest, RulesAndTheStickyCanaryDecideEachStreamAsForHttp11) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2FeaturesConfig(
      backendList(0),
      "sticky = \"header:x-user\"\n"
      "[[routes.rules]]\nheader = \"x-version\"\nequals = \"canary\"\npool = \"green\"\n"
      "[[routes.rules]]\nheader = \"x-force-blue\"\npresent = true\npool = \"blue\"\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  ASSERT_EQ(admin("POST", "/admin/canary?pool=green&weight=50").status, 200);

  // Where HTTP/1.1 sends each user.
  constexpr int kUsers = 20;
  std::vector<std::string> http11_pool;
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int user = 0; user < kUsers; ++user) {
    std::optional<Response> response =
        client.request("GET", "/", {{"X-User", absl::StrCat("user-", user)}});
    ASSERT_TRUE(response.has_value() && response->status == 200) << client.lastError();
    http11_pool.push_back(response->body.substr(0, response->body.find('\n')));
  }
  ASSERT_NE(std::count(http11_pool.begin(), http11_pool.end(), "green"), 0);
  ASSERT_NE(std::count(http11_pool.begin(), http11_pool.end(), "blue"), 0);

  // One connection: each user twice, then the two rules (each of which wins over the split).
  nlohmann::json requests = nlohmann::json::array();
  for (int round = 0; round < 2; ++round) {
    for (int user = 0; user < kUsers; ++user) {
      requests.push_back(http2Get("/", {{"x-user", absl::StrCat("user-", user)}}));
    }
  }
  // Each rule for a user the split sends to the other pool.
  const auto user_in = [&](const std::string& pool) {
    return absl::StrCat(
        "user-", std::find(http11_pool.begin(), http11_pool.end(), pool) - http11_pool.begin());
  };
  requests.push_back(http2Get("/", {{"x-version", "canary"}, {"x-user", user_in("blue")}}));
  requests.push_back(http2Get("/", {{"x-force-blue", "1"}, {"x-user", user_in("green")}}));
  const std::vector<Http2StreamEnd> ends = runStreams(requests);
  for (const Http2StreamEnd& end : ends) {
    ASSERT_EQ(end.status, 200) << "stream of request " << end.index << ": " << end.end;
    if (end.index < 2 * kUsers) {
      EXPECT_EQ(end.pool, http11_pool[end.index % kUsers]) << "user " << end.index % kUsers;
    } else if (end.index == 2 * kUsers) {
      EXPECT_EQ(end.pool, "green") << "the x-version rule";
    } else {
      EXPECT_EQ(end.pool, "blue") << "the x-force-blue rule";
    }
  }
}

TEST_F(Http2FeaturesTest, EveryStreamIsMirroredWithItsBody) {
  ASSERT_NO_FATAL_FAILURE(startBackend("primary"));
  ASSERT_NO_FATAL_FAILURE(startBackend("shadow", {"--log-requests"}));
  // Pool "green" (backend 1) is the shadow.
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      http2FeaturesConfig(backendList(0), "mirror = { pool = \"green\", percent = 100 }\n")));
  constexpr int kGets = 8;
  nlohmann::json requests = nlohmann::json::array();
  for (int i = 0; i < kGets; ++i) requests.push_back(http2Get(absl::StrCat("/?n=", i)));
  const std::string body = patternBytes(30000);  // text: the spec is JSON
  requests.push_back({{"path", "/echo"}, {"method", "POST"}, {"body", body}});
  for (const Http2StreamEnd& end : runStreams(requests)) {
    EXPECT_EQ(end.status, 200) << "stream of request " << end.index << ": " << end.end;
    if (end.index < kGets) {
      EXPECT_EQ(end.pool, "primary");
    }
  }
  // Each stream reached the shadow as a request of its own, the POST with its body.
  ASSERT_TRUE(waitUntil(
      [&] {
        absl::StatusOr<BackendStats> shadow = backendStats(backendPort(1));
        return shadow.ok() && shadow->requests == kGets + 1;
      },
      milliseconds(20000)))
      << backends_[1]->process->output();
  std::optional<std::string> logged = backends_[1]->process->waitForLine(
      [](const std::string& line) {
        return absl::StrContains(line, "request_received") &&
               absl::StrContains(line, "\"method\":\"POST\"");
      },
      milliseconds(10000));
  ASSERT_TRUE(logged.has_value()) << backends_[1]->process->output();
  const std::optional<nlohmann::json> copy = parseJsonLogLine(*logged);
  ASSERT_TRUE(copy.has_value()) << *logged;
  EXPECT_EQ((*copy)["target"], "/echo");
  EXPECT_EQ((*copy)["body_bytes"], body.size());
  EXPECT_EQ((*copy)["body_sha256"], sha256Hex(body));
  EXPECT_EQ(stats(0).requests, static_cast<uint64_t>(kGets + 1));
}

TEST_F(Http2FeaturesTest, AStreamSentToAResettingBackendIsRetriedOnTheNextOne) {
  ASSERT_NO_FATAL_FAILURE(startBackend("resetter", {"--reset-rate", "1"}));
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2FeaturesConfig(
      absl::StrCat("[\"127.0.0.1:", backendPort(0), "\", \"127.0.0.1:", backendPort(1), "\"]"))));
  constexpr int kStreams = 10;
  nlohmann::json requests = nlohmann::json::array();
  for (int i = 0; i < kStreams; ++i) requests.push_back(http2Get("/"));
  for (const Http2StreamEnd& end : runStreams(requests)) {
    EXPECT_EQ(end.status, 200) << "stream of request " << end.index << ": " << end.end;
    EXPECT_EQ(end.pool, "blue");
  }
  // Round robin sent some of the streams to the resetter first: each was retried.
  EXPECT_GT(stats(0).requests, 0u);
  EXPECT_EQ(stats(1).requests, static_cast<uint64_t>(kStreams));
}

TEST_F(Http2FeaturesTest, ASlowBackendTimesOutItsStreamAndHoldsNoOther) {
  // The backend would otherwise hold its exit until the abandoned delay ran out.
  ASSERT_NO_FATAL_FAILURE(startBackend("blue", {"--shutdown-grace", "100ms"}));
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(http2FeaturesConfig(backendList(0), "", "response_timeout = \"1s\"\n")));
  // The slow stream first: the three after it end before it, then it ends with the 504 of
  // response_timeout.
  const std::vector<Http2StreamEnd> ends =
      runStreams({http2Get("/delay/30000"), http2Get("/"), http2Get("/"), http2Get("/")});
  ASSERT_EQ(ends.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(ends[i].index, 0) << "the slow stream ended before a fast one";
    EXPECT_EQ(ends[i].status, 200);
    EXPECT_EQ(ends[i].pool, "blue");
  }
  EXPECT_EQ(ends[3].index, 0);
  EXPECT_EQ(ends[3].status, 504) << ends[3].end;
  EXPECT_EQ(stats(0).requests, 4u) << "a response timeout is not retried, on a stream either";
}

TEST_F(Http2FeaturesTest, AStreamItsClientStopsReadingStopsItsBackendNotTheConnection) {
  constexpr uint64_t kBody = kSanitizerBuild ? 48 * kMiB : 96 * kMiB;
  constexpr long kMaxGrowthKiB = 24 * 1024;
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2FeaturesConfig(backendList(0)), memoryTestEnv()));
  // Warm up (first streams, first buffers) before the baseline is taken.
  runStreams({http2Get("/bytes/1000000"), http2Get("/")});
  const long baseline_kib = proxy_.process->rssKiB();
  ASSERT_GT(baseline_kib, 0);

  TempDir dir;
  const std::string release = dir.file("release");
  const nlohmann::json spec = {
      {"requests",
       {http2Get(absl::StrCat("/bytes/", kBody)), http2Get("/"), http2Get("/"), http2Get("/")}},
      {"hold", release},
      {"limit", 120}};
  auto client = ChildProcess::start(
      {"/usr/bin/python3", "-c", kHttp2FeaturesClient, std::to_string(port()), spec.dump()});
  ASSERT_TRUE(client.ok()) << client.status();
  // The connection goes on: the other streams end while the first one is held.
  ASSERT_TRUE((*client)
                  ->waitForLine([](const std::string& line) { return line == "others done"; },
                                milliseconds(30000))
                  .has_value())
      << (*client)->output();
  // The proxy stopped reading the held stream's backend: its bytes wait in the kernel.
  EXPECT_TRUE(http2FeaturesWaitForStall(backendPort(0)))
      << "queued on the backend's connections: " << kernelQueuedBytes(backendPort(0));
  const long held_kib = proxy_.process->rssKiB();
  EXPECT_LT(held_kib - baseline_kib, kMaxGrowthKiB)
      << "baseline " << baseline_kib << " KiB, while held " << held_kib << " KiB";

  // Released, the stream gets its whole body.
  { std::ofstream(release) << "go\n"; }
  ASSERT_EQ((*client)->waitExit(seconds(120)), std::optional<int>(0)) << (*client)->output();
  const std::vector<Http2StreamEnd> ends = http2FeaturesEnds((*client)->stdoutLines());
  ASSERT_EQ(ends.size(), 4u) << (*client)->output();
  EXPECT_EQ(ends.back().index, 0);
  EXPECT_EQ(ends.back().status, 200);
  EXPECT_EQ(ends.back().bytes, kBody);
  EXPECT_EQ(ends.back().sha256, patternDigest(kBody));
}

TEST_F(Http2FeaturesTest, AnUploadItsBackendStopsReadingHoldsItsClientNotTheConnection) {
  constexpr uint64_t kBody = kSanitizerBuild ? 48 * kMiB : 96 * kMiB;
  constexpr long kMaxGrowthKiB = 24 * 1024;
  // A backend that accepts (the kernel does, from the backlog) and never reads.
  uint16_t sink_port = 0;
  const int sink = listenOnLoopback(8, &sink_port);
  ASSERT_GE(sink, 0);
  absl::Cleanup close_sink = [sink] { ::close(sink); };
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      http2FeaturesConfig(
          backendList(0), "", "",
          absl::StrCat("[[pools]]\nname = \"sink\"\nbackends = [\"127.0.0.1:", sink_port,
                       "\"]\n\n[[routes]]\nname = \"upload\"\n"
                       "path_prefix = \"/upload\"\npool = \"sink\"\n\n")),
      memoryTestEnv()));
  // Warm up (first streams, first buffers) before the baseline is taken.
  runStreams({http2Get("/bytes/1000000"), http2Get("/")});
  const long baseline_kib = proxy_.process->rssKiB();
  ASSERT_GT(baseline_kib, 0);

  TempDir dir;
  const std::string go = dir.file("go");
  auto client = ChildProcess::start({"/usr/bin/python3", "-c", kHttp2UploadClient,
                                     std::to_string(port()), std::to_string(kBody), go, "60"});
  ASSERT_TRUE(client.ok()) << client.status();
  // The proxy forwards the upload until the backend's socket is full, then stops taking it.
  EXPECT_TRUE(http2FeaturesWaitForStall(sink_port))
      << "queued on the sink's connection: " << kernelQueuedBytes(sink_port);
  const long held_kib = proxy_.process->rssKiB();
  EXPECT_LT(held_kib - baseline_kib, kMaxGrowthKiB)
      << "baseline " << baseline_kib << " KiB, while held " << held_kib << " KiB";

  // The connection still serves a new stream; the upload got no further than the windows.
  { std::ofstream(go) << "go\n"; }
  ASSERT_EQ((*client)->waitExit(seconds(60)), std::optional<int>(0)) << (*client)->output();
  std::optional<nlohmann::json> result;
  for (const std::string& line : (*client)->stdoutLines()) {
    if (absl::StartsWith(line, "{")) result = parseJson(line);
  }
  ASSERT_TRUE(result.has_value()) << (*client)->output();
  EXPECT_EQ((*result)["get"], 200) << (*client)->output();
  EXPECT_EQ((*result)["pool"], "blue");
  EXPECT_LT((*result)["uploaded"].get<uint64_t>(), kBody / 2) << (*client)->output();
}

}  // namespace
}  // namespace sy::testing
