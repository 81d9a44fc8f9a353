// Interim (1xx) responses over HTTP/2 (issue 19, RFC 9113 §8.1): a backend's 103 Early Hints
// reaches an h2c client as a HEADERS frame of its own, without END_STREAM, before the final
// response's (the interim's fields kept, connection-specific ones dropped, the route's edits
// left to the final head), and `expect: 100-continue` is answered by the proxy with an interim
// 100 before the client sends its body, as for HTTP/1.1 clients. Trailers are dropped on both
// protocols. Client: a python3-h2 script; skipped where python3-h2 is missing.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/child_run.h"
#include "tests/support/digest.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// One request on one h2c connection: `METHOD PATH [BODY_BYTES [expect]]`. With `expect` the
// request carries `expect: 100-continue` and its body is held until an interim response (or
// the final one) came; otherwise the body follows the HEADERS at once. Prints, in the order
// received: "interim <status>" / "final <status>" each followed by "field <name>: <value>" per
// regular field, "trailers" if trailers came, then "body <body>" at the stream's end (or
// "reset <code>", "closed", "timeout").
constexpr char kH2InterimClient[] = R"PY(
import socket, sys
import h2.config, h2.connection, h2.events
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = bytes((i * 7 + 3) % 256 for i in range(int(sys.argv[4]))) if len(sys.argv) > 4 else b""
expect = len(sys.argv) > 5 and sys.argv[5] == "expect"
sock = socket.create_connection(("127.0.0.1", port), timeout=15)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                            header_encoding="utf-8"))
conn.initiate_connection()
headers = [(":method", method), (":path", path), (":scheme", "http"),
           (":authority", "127.0.0.1")]
if body:
    headers.append(("content-length", str(len(body))))
if expect:
    headers.append(("expect", "100-continue"))
sid = conn.get_next_available_stream_id()
conn.send_headers(sid, headers, end_stream=not body)
def send_body():
    for i in range(0, len(body), 16384):  # within the initial 65535-byte windows
        conn.send_data(sid, body[i:i + 16384], end_stream=i + 16384 >= len(body))
if body and not expect:
    send_body()
sock.sendall(conn.data_to_send())
def show(kind, fields):
    print(kind, dict(fields)[":status"])
    for name, value in fields:
        if not name.startswith(":"):
            print("field %s: %s" % (name, value))
received = b""
while True:
    try:
        data = sock.recv(65536)
    except socket.timeout:
        print("timeout"); sys.exit(0)
    if not data:
        print("closed"); sys.exit(0)
    for event in conn.receive_data(data):
        if getattr(event, "stream_id", sid) != sid:
            continue
        if isinstance(event, h2.events.InformationalResponseReceived):
            show("interim", event.headers)
            if expect and body:
                send_body()
                expect = False
        elif isinstance(event, h2.events.ResponseReceived):
            show("final", event.headers)
            if expect and body:  # no interim came: the body goes anyway
                send_body()
                expect = False
        elif isinstance(event, h2.events.TrailersReceived):
            print("trailers")
        elif isinstance(event, h2.events.DataReceived):
            received += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.StreamEnded):
            print("body", received.decode().rstrip("\n"))
            sock.sendall(conn.data_to_send())
            sys.exit(0)
        elif isinstance(event, h2.events.StreamReset):
            print("reset", int(event.error_code)); sys.exit(0)
    sock.sendall(conn.data_to_send())
)PY";

// The body the client sends for `n` (the script's pattern).
std::string h2InterimClientBody(size_t n) {
  std::string body(n, '\0');
  for (size_t i = 0; i < n; ++i) body[i] = static_cast<char>((i * 7 + 3) % 256);
  return body;
}

// Runs the client (bounded); its output lines.
std::vector<std::string> h2InterimRun(uint16_t port, const std::vector<std::string>& args) {
  std::vector<std::string> all = {std::to_string(port)};
  all.insert(all.end(), args.begin(), args.end());
  return runPythonToEnd(kH2InterimClient, all, std::chrono::seconds(60));
}

// One h2c listener (a request id on every response), the route "hinted" with a response edit.
std::string h2InterimConfig(uint16_t backend, const std::string& route_extra = "") {
  return absl::StrCat(
      "[server]\nworkers = 1\n\n[[listeners]]\nname = \"h2c\"\nlisten = \"127.0.0.1:0\"\n",
      "http2 = true\nrequest_id = \"X-Request-ID\"\n\n[[pools]]\nname = \"app\"\n",
      "backends = [\"127.0.0.1:", backend, "\"]\n\n[[routes]]\nname = \"hinted\"\npool = \"app\"\n",
      "response_headers = { set = { \"X-Served-By\" = \"{route}\" } }\n", route_extra);
}

class Http2InterimTest : public ProxyTest {
 protected:
  void SetUp() override {
    if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  }
};

TEST_F(Http2InterimTest, EarlyHintsReachTheClientBeforeTheFinalResponse) {
  // Connection-specific fields in the interim must not reach an HTTP/2 client (python3-h2
  // would refuse the stream); the chunked final response has trailers, dropped as on HTTP/1.1.
  RawServer backend(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
      "5\r\nfinal\r\n0\r\nX-Checksum: abc\r\n\r\n",
      /*close_after=*/true);
  ASSERT_TRUE(backend.ready());
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2InterimConfig(backend.port())));
  const std::vector<std::string> lines = h2InterimRun(port(), {"GET", "/"});
  ASSERT_GE(lines.size(), 4u) << absl::StrJoin(lines, "\n");
  // The interim first, with its Link and nothing the route or the proxy adds to final heads.
  EXPECT_EQ(lines[0], "interim 103");
  EXPECT_EQ(lines[1], "field link: </style.css>; rel=preload");
  EXPECT_EQ(lines[2], "final 200") << absl::StrJoin(lines, "\n");
  const std::vector<std::string> final_fields(lines.begin() + 3, lines.end() - 1);
  EXPECT_THAT(final_fields, Contains("field x-served-by: hinted"));
  EXPECT_THAT(final_fields, Contains(HasSubstr("field x-request-id: ")));
  EXPECT_THAT(final_fields, Not(Contains(HasSubstr("trailer"))));
  EXPECT_EQ(lines.back(), "body final");
  EXPECT_THAT(lines, Not(Contains("trailers")));
}

TEST_F(Http2InterimTest, EarlyHintsThenABackendFailureEndWithTheProxysAnswer) {
  // The backend hints, then closes: the client had the 103 and gets the proxy's 502 after it.
  RawServer backend("HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n",
                    /*close_after=*/true);
  ASSERT_TRUE(backend.ready());
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2InterimConfig(backend.port(), "retries = 0\n")));
  const std::vector<std::string> lines = h2InterimRun(port(), {"GET", "/"});
  ASSERT_GE(lines.size(), 3u) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(lines[0], "interim 103");
  EXPECT_EQ(lines[1], "field link: </app.js>; rel=preload");
  EXPECT_THAT(lines, Contains("final 502")) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines.back(), HasSubstr("body ")) << absl::StrJoin(lines, "\n");
}

TEST_F(Http2InterimTest, ExpectContinueGetsAnInterim100BeforeTheBodyIsSent) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2InterimConfig(backendPort(0))));
  // The client holds its body until the 100 comes (the script sends it on any response; a
  // missing 100 shows as a "final" line first).
  const size_t size = 50000;
  const std::vector<std::string> lines =
      h2InterimRun(port(), {"POST", "/echo", std::to_string(size), "expect"});
  ASSERT_GE(lines.size(), 3u) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(lines[0], "interim 100");
  EXPECT_EQ(lines[1], "final 200") << absl::StrJoin(lines, "\n");
  ASSERT_TRUE(absl::StartsWith(lines.back(), "body ")) << absl::StrJoin(lines, "\n");
  const std::optional<nlohmann::json> echo = parseJson(lines.back().substr(5));
  ASSERT_TRUE(echo.has_value()) << lines.back();
  EXPECT_EQ((*echo)["body_bytes"], size);
  EXPECT_EQ((*echo)["body_sha256"], sha256Hex(h2InterimClientBody(size)));
  // The proxy answered the expectation itself: the backend never sees it.
  EXPECT_THAT(echoedHeader(*echo, "Expect"), IsEmpty());

  // Without the expectation no interim comes.
  const std::vector<std::string> plain =
      h2InterimRun(port(), {"POST", "/echo", std::to_string(size)});
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(plain[0], "final 200") << absl::StrJoin(plain, "\n");
}

}  // namespace
}  // namespace sy::testing
