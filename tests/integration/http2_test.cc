// HTTP/2 from clients, first slice (issue 19): a listener with http2 = true takes h2c with
// prior knowledge (and keeps taking HTTP/1.1), a TLS one offers h2 in ALPN; every stream runs
// through the ordinary exchange to the HTTP/1.1 backends. Clients: curl, nghttp (Debian
// nghttp2-client) and a small python3-h2 script; a test whose tool is missing is skipped.

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/child_run.h"
#include "tests/support/digest.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/shaping_config.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

bool http2TestToolPresent(const std::string& tool) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    if (access(absl::StrCat(dir, tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// One HTTP/2 connection (python3-h2), requests one after the other: "GET /path",
// "POST-ADMIN url" (an HTTP/1.1 POST elsewhere, between two streams), "BAD name value" (a GET
// with that extra header field, sent unchecked). Prints "<status> <body>" per answered stream
// and "reset <code>" per stream the proxy reset.
constexpr char kHttp2TestClient[] = R"PY(
import socket, sys, urllib.request
import h2.config, h2.connection, h2.events
port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
    normalize_outbound_headers=False))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
def exchange(extra):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                            (":authority", "127.0.0.1")] + extra, end_stream=True)
    sock.sendall(conn.data_to_send())
    status, body = None, b""
    while True:
        data = sock.recv(65536)
        if not data:
            print("closed"); return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
                status = dict(event.headers)[":status"]
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                sock.sendall(conn.data_to_send())
                print(status, body.decode().strip()); return
            elif isinstance(event, h2.events.StreamReset) and event.stream_id == sid:
                print("reset", int(event.error_code)); return
        sock.sendall(conn.data_to_send())
for step in sys.argv[2:]:
    words = step.split(" ")
    if words[0] == "GET":
        exchange([])
    elif words[0] == "POST-ADMIN":
        urllib.request.urlopen(urllib.request.Request(words[1], method="POST"), timeout=10).read()
    elif words[0] == "BAD":
        exchange([(words[1], words[2])])
)PY";

std::string http2PlainConfig(uint16_t backend, const std::string& listener_extra = "http2 = true") {
  return absl::StrCat("[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\n",
                      "listen = \"127.0.0.1:0\"\n", listener_extra,
                      "\n\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backend,
                      "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
}

class Http2Test : public AdminProxyTest {};

TEST_F(Http2Test, CurlWithPriorKnowledgeAndHttp11ShareTheListener) {
  if (!http2TestToolPresent("curl")) GTEST_SKIP() << "curl is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0))));
  const std::string url = absl::StrCat("http://127.0.0.1:", port(), "/");
  EXPECT_THAT(runToEnd({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-w",
                        "%{http_version} %{http_code}\\n", url}),
              ElementsAre("blue", "2 200"));
  EXPECT_THAT(runToEnd({"curl", "-sS", "--max-time", "10", "--http1.1", "-w",
                        "%{http_version} %{http_code}\\n", url}),
              ElementsAre("blue", "1.1 200"));
  // A body through /echo, streamed without a length (chunked to the backend) and with one.
  const std::string body = testBody(200000);
  TempDir dir;
  const std::string body_path = dir.file("body.bin");
  {
    std::ofstream out(body_path, std::ios::binary);
    out << body;
  }
  for (const std::string& how : {std::string("--data-binary"), std::string("--upload-file")}) {
    std::vector<std::string> lines =
        runToEnd({"curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-X", "POST", how,
                  (how == "--data-binary" ? "@" : "") + body_path, url + "echo"});
    ASSERT_EQ(lines.size(), 1u) << how;
    std::optional<nlohmann::json> echo = parseJson(lines[0]);
    ASSERT_TRUE(echo.has_value()) << lines[0];
    EXPECT_EQ((*echo)["method"], "POST") << how;
    EXPECT_EQ((*echo)["body_bytes"], body.size()) << how;
    EXPECT_EQ((*echo)["body_sha256"], sha256Hex(body)) << how;
  }
}

TEST_F(Http2Test, NghttpMultiplexesTwentyStreamsOnOneConnection) {
  if (!http2TestToolPresent("nghttp")) GTEST_SKIP() << "nghttp (nghttp2-client) is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0))));
  std::vector<std::string> lines =
      runToEnd({"nghttp", "-n", "-s", "-m", "20", "-t", "20",
                absl::StrCat("http://127.0.0.1:", port(), "/bytes/100000")});
  int ok = 0;
  for (const std::string& line : lines) {
    if (line.find(" 200 ") != std::string::npos &&
        line.find("/bytes/100000") != std::string::npos) {
      ++ok;
    }
  }
  EXPECT_EQ(ok, 20) << absl::StrJoin(lines, "\n");
}

TEST_F(Http2Test, AListenerWithoutHttp2SpeaksOnlyHttp11) {
  if (!http2TestToolPresent("curl")) GTEST_SKIP() << "curl is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0), "")));
  // --http2 over plain HTTP asks for an Upgrade to h2c, which this slice does not do: the
  // answer comes over HTTP/1.1.
  EXPECT_THAT(
      runToEnd({"curl", "-sS", "--max-time", "10", "--http2", "-w",
                "%{http_version} %{http_code}\\n", absl::StrCat("http://127.0.0.1:", port(), "/")}),
      ElementsAre("blue", "1.1 200"));
}

TEST_F(Http2Test, ASwitchBetweenTwoStreamsSendsTheSecondToTheNewPool) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
      "http2 = true\n\n[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:",
      backendPort(0), "\"]\n\n[[pools]]\nname = \"green\"\nbackends = [\"127.0.0.1:",
      backendPort(1), "\"]\n\n[[routes]]\nname = \"web\"\npool = \"blue\"\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  const std::string switch_url =
      absl::StrCat("http://127.0.0.1:", admin_port_, "/admin/switch?to=green");
  EXPECT_THAT(runToEnd({"/usr/bin/python3", "-c", kHttp2TestClient, std::to_string(port()), "GET /",
                        "POST-ADMIN " + switch_url, "GET /"}),
              ElementsAre("200 blue", "200 green"));
}

TEST_F(Http2Test, InvalidFieldsAreResetAndNeverReachTheBackend) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0))));
  // An uppercase name and a connection-specific field (RFC 9113 §8.2): PROTOCOL_ERROR (1) on
  // the stream; the connection goes on serving the next stream.
  EXPECT_THAT(runToEnd({"/usr/bin/python3", "-c", kHttp2TestClient, std::to_string(port()),
                        "BAD X-Upper 1", "BAD connection keep-alive", "GET /"}),
              ElementsAre("reset 1", "reset 1", "200 blue"));
  BackendStats backend = stats(0);
  EXPECT_EQ(backend.requests, 1u);  // only the valid one
}

// One python3-h2 stream: POST /echo with a body of unknown length (no content-length, three
// DATA frames of argv[2] bytes each, then an empty one with END_STREAM), split cookie crumbs and
// "te: trailers"; or, with argv[2] "path:<target>", a GET of that target. Prints the status and
// the response body on two lines.
constexpr char kHttp2FieldsClient[] = R"PY(
import os, socket, sys
import h2.config, h2.connection, h2.events
port, what = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
conn.initiate_connection()
sid = conn.get_next_available_stream_id()
if what.startswith("path:"):
    conn.send_headers(sid, [(b":method", b"GET"), (b":path", os.fsencode(what)[5:]),
                            (b":scheme", b"http"), (b":authority", b"127.0.0.1")], end_stream=True)
else:
    conn.send_headers(sid, [(b":method", b"POST"), (b":path", b"/echo"), (b":scheme", b"http"),
                            (b":authority", b"127.0.0.1"), (b"cookie", b"a=1"),
                            (b"te", b"trailers"), (b"x-mid", b"m"), (b"cookie", b"b=2")])
    for i in range(3):
        conn.send_data(sid, bytes([65 + i]) * int(what))
    conn.send_data(sid, b"", end_stream=True)
sock.sendall(conn.data_to_send())
status, body = None, b""
while True:
    data = sock.recv(65536)
    if not data:
        print("closed"); break
    done = False
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
            status = dict(event.headers)[b":status"].decode()
        elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
            body += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
            done = True
        elif isinstance(event, h2.events.StreamReset) and event.stream_id == sid:
            print("reset", int(event.error_code)); done = True
    sock.sendall(conn.data_to_send())
    if done:
        break
print(status)
print(body.decode("latin-1").strip().replace("\n", " "))
)PY";

TEST_F(Http2Test, ABodyOfUnknownLengthAndSplitCookiesReachTheBackendIntact) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0))));
  const std::vector<std::string> lines =
      runToEnd({"/usr/bin/python3", "-c", kHttp2FieldsClient, std::to_string(port()), "10000"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "200");
  std::optional<nlohmann::json> echo = parseJson(lines[1]);
  ASSERT_TRUE(echo.has_value()) << lines[1];
  const std::string body =
      std::string(10000, 'A') + std::string(10000, 'B') + std::string(10000, 'C');
  EXPECT_EQ((*echo)["method"], "POST");
  EXPECT_EQ((*echo)["body_bytes"], body.size());
  EXPECT_EQ((*echo)["body_sha256"], sha256Hex(body));
  // The crumbs arrive as one field (RFC 9113 §8.2.3), te stays behind, the body goes chunked.
  std::vector<std::string> cookies;
  std::vector<std::string> framing;
  bool te = false;
  std::string mid;
  for (const nlohmann::json& field : (*echo)["headers"]) {
    const std::string name = absl::AsciiStrToLower(field[0].get<std::string>());
    if (name == "cookie") cookies.push_back(field[1]);
    if (name == "transfer-encoding" || name == "content-length") {
      framing.push_back(name + ": " + field[1].get<std::string>());
    }
    if (name == "te") te = true;
    if (name == "x-mid") mid = field[1];
  }
  EXPECT_THAT(cookies, ElementsAre("a=1; b=2"));
  EXPECT_THAT(framing, ElementsAre("transfer-encoding: chunked"));
  EXPECT_FALSE(te);
  EXPECT_EQ(mid, "m");
}

TEST_F(Http2Test, ATargetTheHttp11RulesRefuseIsAnsweredAndNeverReachesTheBackend) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(http2PlainConfig(backendPort(0), "http2 = true\nmax_url_bytes = 256")));
  // nghttp2 lets bytes above 0x7f through in :path; llhttp's strict rules do not.
  std::vector<std::string> lines = runToEnd(
      {"/usr/bin/python3", "-c", kHttp2FieldsClient, std::to_string(port()), "path:/caf\xe9"});
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "400");
  lines = runToEnd({"/usr/bin/python3", "-c", kHttp2FieldsClient, std::to_string(port()),
                    "path:/" + std::string(300, 'a')});
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "414");
  EXPECT_EQ(stats(0).requests, 0u);
}

TEST_F(Http2Test, ShutdownSendsGoawayAndTheStreamInFlightFinishes) {
  if (!http2TestToolPresent("nghttp")) GTEST_SKIP() << "nghttp (nghttp2-client) is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2PlainConfig(backendPort(0))));
  auto client = ChildProcess::start(
      {"nghttp", "-n", "-v", absl::StrCat("http://127.0.0.1:", port(), "/delay/1500")});
  ASSERT_TRUE(client.ok()) << client.status();
  // The stream has reached the backend: then the proxy is told to stop.
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests == 1; }, std::chrono::seconds(10)));
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  EXPECT_EQ((*client)->waitExit(std::chrono::seconds(15)), 0) << (*client)->output();
  ASSERT_TRUE(
      waitUntil([&] { return (*client)->output().find(":status: 200") != std::string::npos; },
                std::chrono::seconds(5)))
      << (*client)->output();
  EXPECT_THAT((*client)->output(), HasSubstr("recv GOAWAY"));
}

class Http2TlsTest : public TlsProxyTest {};

// A TLS listener offers h2 without being asked to (the http2 key's default follows tls).
TEST_F(Http2TlsTest, AlpnSelectsH2ByDefaultOnTls) {
  if (!http2TestToolPresent("curl")) GTEST_SKIP() << "curl is not installed";
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      tlsListener("https"), "\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backendPort(0),
      "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  const std::string host = absl::StrCat("www.example.com:", port());
  auto curl_get = [&](const std::string& version) {
    return runToEnd({"curl", "-sS", "--max-time", "10", version, "--cacert",
                     certificates_->rootCa(), "--resolve", host + ":127.0.0.1", "-w",
                     "%{http_version} %{http_code}\\n", absl::StrCat("https://", host, "/")});
  };
  EXPECT_THAT(curl_get("--http2"), ElementsAre("blue", "2 200"));
  EXPECT_THAT(curl_get("--http1.1"), ElementsAre("blue", "1.1 200"));
}

TEST_F(Http2TlsTest, AlpnKeepsHttp11WhenHttp2IsOff) {
  if (!http2TestToolPresent("curl")) GTEST_SKIP() << "curl is not installed";
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      absl::StrCat(tlsListener("https", "", "http2 = false\n"),
                   "\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backendPort(0),
                   "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  const std::string host = absl::StrCat("www.example.com:", port());
  EXPECT_THAT(runToEnd({"curl", "-sS", "--max-time", "10", "--http2", "--cacert",
                        certificates_->rootCa(), "--resolve", host + ":127.0.0.1", "-w",
                        "%{http_version} %{http_code}\\n", absl::StrCat("https://", host, "/")}),
              ElementsAre("blue", "1.1 200"));
}

// Request shaping (issue 15) on streams: a stream's response reaches the client as fields
// handed over by the exchange, not as an HTTP/1.1 head parsed again, so the route's request and
// response headers, path rewrites, local answers (redirects), the request id and the access log
// are checked here over h2c, as request_shaping_test.cc does over HTTP/1.1.

// One h2c response as curl shows it with -i: the status, the fields (names as received) and
// the body.
struct Http2ShapingResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;

  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [field, value] : fields) {
      if (core::equalsIgnoreCase(field, name)) out.push_back(value);
    }
    return out;
  }
};

class Http2ShapingTest : public ProxyTest {
 protected:
  void SetUp() override {
    if (!http2TestToolPresent("curl")) GTEST_SKIP() << "curl is not installed";
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    // The routes of request_shaping_test.cc, over h2c.
    ASSERT_NO_FATAL_FAILURE(startProxyToml(shapingConfig(R"([server]
workers = 1

[access_log]
path = "-"
fields = ["route", "protocol", "status", "request_id", "bytes_out"]

[[listeners]]
name = "h2c"
listen = "127.0.0.1:0"
http2 = true
request_id = "X-Request-ID"
)",
                                                         backendPort(0))));
  }

  // curl over h2c; the test fails when curl does not end well.
  std::optional<Http2ShapingResponse> get(const std::string& target,
                                          const std::vector<std::string>& headers = {}) {
    std::vector<std::string> argv = {"curl",       "-sS", "-i",
                                     "--max-time", "10",  "--http2-prior-knowledge"};
    for (const std::string& header : headers) {
      argv.push_back("-H");
      argv.push_back(header);
    }
    argv.push_back(absl::StrCat("http://127.0.0.1:", port(), target));
    auto child = ChildProcess::start(argv);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return std::nullopt;
    const std::optional<int> code = (*child)->waitExit(std::chrono::seconds(30));
    EXPECT_EQ(code, 0) << (*child)->output();
    if (code != 0) return std::nullopt;
    Http2ShapingResponse response;
    bool in_head = true;
    for (std::string line : (*child)->stdoutLines()) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!in_head) {
        response.body += line + "\n";
      } else if (line.empty()) {
        in_head = false;
      } else if (absl::StartsWith(line, "HTTP/2 ")) {
        response.status = std::stoi(line.substr(7, 3));
      } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t") == std::string::npos
                           ? value.size()
                           : value.find_first_not_of(" \t"));
        response.fields.emplace_back(line.substr(0, colon), value);
      }
    }
    EXPECT_NE(response.status, 0) << (*child)->output();
    return response;
  }

  static std::vector<std::string> echoed(const nlohmann::json& echo, std::string_view name) {
    std::vector<std::string> out;
    if (!echo.contains("headers")) return out;
    for (const auto& pair : echo["headers"]) {
      if (core::equalsIgnoreCase(pair[0].get<std::string>(), name)) {
        out.push_back(pair[1].get<std::string>());
      }
    }
    return out;
  }
};

TEST_F(Http2ShapingTest, RouteHeadersApplyBothWaysOnAStream) {
  std::optional<Http2ShapingResponse> response =
      get("/echo?q=1", {"X-Env: dev", "X-Debug: 1", "X-Multi: sent"});
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  // Response side: set, add and remove, and the framing fields that HTTP/2 forbids are absent.
  EXPECT_THAT(response->all("x-served-by"),
              ElementsAre(absl::StrCat("127.0.0.1:", backendPort(0))));
  EXPECT_THAT(response->all("content-type"), ElementsAre("text/x-test"));
  EXPECT_THAT(response->all("x-route"), ElementsAre("headers/app"));
  EXPECT_THAT(response->all("x-backend"), IsEmpty());
  EXPECT_THAT(response->all("connection"), IsEmpty());
  EXPECT_THAT(response->all("transfer-encoding"), IsEmpty());
  // The request id generated for the stream comes back to the client and went to the backend.
  const std::vector<std::string> ids = response->all("x-request-id");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].size(), 32u);
  // Request side, as the backend received it.
  std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value()) << response->body;
  EXPECT_THAT(echoed(*echo, "X-Env"), ElementsAre("prod"));
  EXPECT_THAT(echoed(*echo, "X-Debug"), IsEmpty());
  EXPECT_THAT(echoed(*echo, "X-Multi"), ElementsAre("sent", "added"));
  EXPECT_THAT(
      echoed(*echo, "X-Seen"),
      ElementsAre(absl::StrCat("127.0.0.1 http 127.0.0.1 /echo?q=1 headers app [", ids[0], "]")));
  EXPECT_THAT(echoed(*echo, "X-Request-ID"), ElementsAre(ids[0]));
  // The access log names the protocol the client spoke.
  const std::optional<std::string> line = proxy_.process->waitForLine(
      [](const std::string& text) {
        const std::optional<nlohmann::json> event = parseJsonLogLine(text);
        return event.has_value() && event->value("route", "") == "headers";
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value()) << "no access log line for the headers route";
  const nlohmann::json logged = *parseJsonLogLine(*line);
  EXPECT_EQ(logged["protocol"], "HTTP/2.0");
  EXPECT_EQ(logged["status"], 200);
  EXPECT_EQ(logged["request_id"], ids[0]);
  EXPECT_GT(logged["bytes_out"].get<uint64_t>(), response->body.size());
}

TEST_F(Http2ShapingTest, StripPrefixAndRedirectOnAStream) {
  std::optional<Http2ShapingResponse> stripped = get("/api/echo?x=1");
  ASSERT_TRUE(stripped.has_value());
  EXPECT_EQ(stripped->status, 200);
  EXPECT_THAT(stripped->all("x-backend"), ElementsAre("blue")) << "another route's headers";
  std::optional<nlohmann::json> echo = parseJson(stripped->body);
  ASSERT_TRUE(echo.has_value()) << stripped->body;
  EXPECT_EQ((*echo)["path"], "/echo?x=1");
  // A route that answers itself: the exchange's own reply, with the route's response headers.
  std::optional<Http2ShapingResponse> moved = get("/moved/a?b=c");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->status, 308);
  EXPECT_THAT(moved->all("location"), ElementsAre("http://new.example/moved/a?b=c"));
  EXPECT_THAT(moved->all("x-moved-by"), ElementsAre("moved"));
  EXPECT_THAT(moved->all("connection"), IsEmpty());
}

TEST_F(Http2ShapingTest, ChunkedAndEmptyBackendResponsesKeepTheirBodies) {
  // The backend frames this body with chunked encoding; the stream gets the plain bytes.
  std::optional<Http2ShapingResponse> chunked = get("/bytes/200?chunked=1");
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->status, 200);
  EXPECT_THAT(chunked->all("transfer-encoding"), IsEmpty());
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(chunked->body).size(), 200u) << chunked->body;
  EXPECT_TRUE(absl::StartsWith(chunked->body, "0123456789abcdef")) << chunked->body;
  std::optional<Http2ShapingResponse> empty = get("/status/204");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->status, 204);
  EXPECT_EQ(empty->body, "");
}

}  // namespace
}  // namespace sy::testing
