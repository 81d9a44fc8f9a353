// HTTP/2 limits and attack defences (issue 19): each defence meets an adversarial client (raw
// frames, HPACK by python3-hpack, which python3-h2 depends on) and must give the RFC 9113 answer
// (a stream error, or GOAWAY with the right code) while nothing reaches a backend that should
// not. A test whose tool is missing is skipped.

#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/child_run.h"
#include "tests/support/health_support.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One HTTP/2 connection written frame by frame: `mode` says what it sends (see the branches),
// then it reads the server's frames until the streams it waits for have ended, or the server
// closes. Prints "<stream> <status>" or "<stream> reset <code>" per stream (ascending), then
// "goaway <code>" if a GOAWAY came and "closed" if the server closed. Setting lines ("setting
// <id> <value>") come first in the `settings` mode.
constexpr char kH2DefenceClient[] = R"PY(
import socket, ssl, struct, sys, time
import hpack
port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
enc, dec = hpack.Encoder(), hpack.Decoder()
def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload
def settings(pairs=()):
    return frame(4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))
def block(path="/", method="GET", extra=()):
    return enc.encode([(":method", method), (":path", path), (":scheme", "http"),
                       (":authority", "127.0.0.1")] + list(extra))
def request(sid, path="/", method="GET", extra=(), end_stream=True):
    return frame(1, (1 if end_stream else 0) | 4, sid, block(path, method, extra))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
sock = socket.create_connection(("127.0.0.1", port), timeout=20)
if mode == "alpn":
    context = ssl.create_default_context(cafile=args[0])
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(sock, server_hostname=args[1])
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
out, wait_streams, first_settings_only = b"", 0, False
if mode == "alpn":
    out = b"GET / HTTP/1.1\r\nHost: " + args[1].encode() + b"\r\n\r\n"
elif mode == "settings":
    out, first_settings_only = PREFACE + settings(), True
elif mode == "streams":  # N requests at once, before the server's SETTINGS could be acknowledged
    count, path = int(args[0]), args[1]
    out = PREFACE + settings() + b"".join(request(2 * i + 1, path) for i in range(count))
    wait_streams = count
elif mode == "headers":  # stream 1: COUNT fields of SIZE bytes; stream 3: an ordinary GET
    count, size = int(args[0]), int(args[1])
    extra = [("x-filler-%d" % i, "v" * size) for i in range(count)]
    out = PREFACE + settings() + request(1, extra=extra) + request(3)
    wait_streams = 2
elif mode == "rapid":  # N times: a request, then RST_STREAM CANCEL at once (CVE-2023-44487)
    out = PREFACE + settings() + b"".join(
        request(2 * i + 1, "/") + frame(3, 0, 2 * i + 1, struct.pack(">I", 8))
        for i in range(int(args[0])))
elif mode == "continuation":  # HEADERS without END_HEADERS, then N CONTINUATION (CVE-2024-27316)
    header_block = block()
    out = PREFACE + settings() + frame(1, 1, 1, header_block[:4]) + b"".join(
        frame(9, 0, 1, b"") for _ in range(int(args[0]))) + frame(9, 4, 1, header_block[4:])
elif mode == "ping":  # N PINGs, acknowledgements not read meanwhile
    out = PREFACE + settings() + frame(6, 0, 0, b"12345678") * int(args[0])
elif mode == "idle-ping":
    out = PREFACE + settings()
elif mode == "stall":  # a zero window: the response's DATA can never be sent
    out = PREFACE + settings([(4, 0)]) + request(1, args[0])
elif mode == "content-length":
    out = (PREFACE + settings() +
           request(1, "/echo", "POST", [("content-length", "10")], end_stream=False) +
           frame(0, 1, 1, b"hello") +
           request(3, "/echo", "POST", [("content-length", "5")], end_stream=False) +
           frame(0, 1, 3, b"0123456789") + request(5))
    wait_streams = 3
elif mode == "stalled-body":  # stream 1: 10 of 100 body bytes, then nothing; stream 3: GET PATH
    out = (PREFACE + settings() +
           request(1, "/echo", "POST", [("content-length", "100")], end_stream=False) +
           frame(0, 0, 1, b"0123456789") + request(3, args[0]))
    wait_streams = 2
elif mode == "big-frame":  # a DATA frame above SETTINGS_MAX_FRAME_SIZE (16384)
    out = (PREFACE + settings() + request(1, "/echo", "POST", end_stream=False) +
           frame(0, 1, 1, b"x" * 20000))
sock.sendall(out)
if mode == "idle-ping":  # PINGs, no stream: they must not keep an idle connection open
    sock.settimeout(0.2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            sock.sendall(frame(6, 0, 0, b"12345678"))
            while sock.recv(65536):
                pass
            print("closed"); sys.exit(0)
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            print("closed"); sys.exit(0)
    print("still open"); sys.exit(0)
buf, results, done, lines, closed = b"", {}, set(), [], False
deadline = time.monotonic() + 60
def handle(ftype, flags, sid, payload):
    if ftype == 1:
        results[sid] = dict(dec.decode(payload)).get(":status")
        if flags & 1: done.add(sid)
    elif ftype == 0 and flags & 1:
        done.add(sid)
    elif ftype == 3 and sid in done:  # after a complete response: "<status> reset <code>"
        results[sid] += " reset %d" % struct.unpack(">I", payload)[0]
    elif ftype == 3:
        results[sid] = "reset %d" % struct.unpack(">I", payload)[0]
        done.add(sid)
    elif ftype == 7:
        lines.append("goaway %d" % struct.unpack(">I", payload[4:8])[0])
    elif ftype == 4 and not flags & 1 and first_settings_only:
        for i in range(0, len(payload), 6):
            lines.append("setting %d %d" % struct.unpack(">HI", payload[i:i + 6]))
        return True
while time.monotonic() < deadline and (wait_streams == 0 or len(done) < wait_streams):
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        data = b""
    if not data:
        closed = True
        break
    buf += data
    if mode == "alpn" and buf.startswith(b"HTTP/"):
        print("http1"); sys.exit(0)
    stop = False
    while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
        length = int.from_bytes(buf[:3], "big")
        stop = handle(buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF,
                      buf[9:9 + length]) or stop
        buf = buf[9 + length:]
    if stop:
        break
for sid in sorted(results):
    print(sid, results[sid])
for line in lines:
    print(line)
if closed:
    print("closed")
)PY";

// Runs the client (bounded); its output lines.
std::vector<std::string> h2DefenceRun(uint16_t port, const std::string& mode,
                                      const std::vector<std::string>& args = {}) {
  std::vector<std::string> all = {std::to_string(port), mode};
  all.insert(all.end(), args.begin(), args.end());
  return runPythonToEnd(kH2DefenceClient, all, std::chrono::seconds(90));
}

std::string h2DefenceConfig(uint16_t backend, const std::string& listener_extra = "") {
  return absl::StrCat("[server]\nworkers = 1\n\n[[listeners]]\nname = \"http\"\n",
                      "listen = \"127.0.0.1:0\"\nhttp2 = true\n", listener_extra,
                      "\n\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backend,
                      "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
}

class Http2DefencesTest : public AdminProxyTest {
 protected:
  void SetUp() override {
    AdminProxyTest::SetUp();
    if (!pythonModulePresent("hpack"))
      GTEST_SKIP() << "python3-h2 (python3-hpack) is not installed";
  }
  void start(const std::string& listener_extra) {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(h2DefenceConfig(backendPort(0), listener_extra)));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }
  // switchyard_http2_defences_total{defence}, once it reached `expected` (the counter moves on
  // the worker; a scrape may come a moment early); its last value otherwise.
  std::optional<double> defenceCount(const std::string& defence, double expected) {
    std::optional<double> value;
    waitUntil(
        [&] {
          absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
          if (!metrics.ok()) return false;
          value = metrics->value("switchyard_http2_defences_total", {{"defence", defence}});
          return value == expected;
        },
        std::chrono::seconds(10));
    return value;
  }
};

TEST_F(Http2DefencesTest, TheServerSettingsCarryTheConfiguredLimits) {
  ASSERT_NO_FATAL_FAILURE(
      start("http2_max_concurrent_streams = 7\nhttp2_max_header_list_size = 4096\n"
            "http2_hpack_table_size = 8192\n"));
  // MAX_CONCURRENT_STREAMS (3), MAX_HEADER_LIST_SIZE (6), HEADER_TABLE_SIZE (1).
  EXPECT_THAT(h2DefenceRun(port(), "settings"),
              ElementsAre("setting 3 7", "setting 6 4096", "setting 1 8192"));
}

TEST_F(Http2DefencesTest, StreamsBeyondTheConcurrentLimitAreRefused) {
  ASSERT_NO_FATAL_FAILURE(start("http2_max_concurrent_streams = 4\n"));
  // Six streams at once, sent before the client could acknowledge the SETTINGS: the last two
  // get REFUSED_STREAM (7), which tells the client it may retry them.
  EXPECT_THAT(h2DefenceRun(port(), "streams", {"6", "/delay/300"}),
              ElementsAre("1 200", "3 200", "5 200", "7 200", "9 reset 7", "11 reset 7"));
  EXPECT_EQ(stats(0).requests, 4u);
  EXPECT_EQ(defenceCount("stream_limit", 2), 2);
  EXPECT_EQ(defenceCount("rapid_reset", 0), 0) << "only the defence that fired moves";
}

TEST_F(Http2DefencesTest, AHeaderListAboveTheLimitIsAnswered431) {
  ASSERT_NO_FATAL_FAILURE(start("http2_max_header_list_size = 4096\n"));
  // Five fields of 1000 bytes (5 * (1000 + 12 + 32) bytes): 431, never forwarded; the next
  // stream on the connection is served.
  EXPECT_THAT(h2DefenceRun(port(), "headers", {"5", "1000"}), ElementsAre("1 431", "3 200"));
  EXPECT_EQ(stats(0).requests, 1u);
  EXPECT_EQ(defenceCount("header_list_too_large", 1), 1);
}

TEST_F(Http2DefencesTest, RapidResetEndsTheConnectionWithEnhanceYourCalm) {
  ASSERT_NO_FATAL_FAILURE(start("http2_max_resets = 10\nhttp2_reset_interval = \"1m\"\n"));
  // 200 streams opened and reset at once: the 11th reset ends the connection with GOAWAY
  // ENHANCE_YOUR_CALM (11); the streams after it never start.
  EXPECT_THAT(h2DefenceRun(port(), "rapid", {"200"}), ElementsAre("goaway 11", "closed"));
  EXPECT_LE(stats(0).requests, 11u);
  EXPECT_EQ(defenceCount("rapid_reset", 1), 1);
}

TEST_F(Http2DefencesTest, AContinuationFloodEndsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  // 100 empty CONTINUATION frames after one HEADERS (CVE-2024-27316): GOAWAY ENHANCE_YOUR_CALM,
  // and the request never reaches the backend.
  EXPECT_THAT(h2DefenceRun(port(), "continuation", {"100"}), ElementsAre("goaway 11", "closed"));
  EXPECT_EQ(stats(0).requests, 0u);
  EXPECT_EQ(defenceCount("continuation_flood", 1), 1);
}

TEST_F(Http2DefencesTest, APingFloodEndsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  // PINGs whose acknowledgements pile up unread: GOAWAY ENHANCE_YOUR_CALM.
  const std::vector<std::string> lines = h2DefenceRun(port(), "ping", {"400000"});
  EXPECT_THAT(lines, Contains("goaway 11")) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines, Contains("closed"));
  EXPECT_EQ(defenceCount("control_flood", 1), 1);
}

TEST_F(Http2DefencesTest, AZeroWindowStallIsCutByTheStallTimeout) {
  ASSERT_NO_FATAL_FAILURE(start("http2_stall_timeout = \"1s\"\n"));
  // The client's window is 0: the response head goes out, its body never can; the connection
  // is closed once the stall lasted http2_stall_timeout (the client waits up to 60 s).
  EXPECT_THAT(h2DefenceRun(port(), "stall", {"/bytes/1000"}), ElementsAre("1 200", "closed"));
  EXPECT_EQ(defenceCount("stall_timeout", 1), 1);
}

TEST_F(Http2DefencesTest, AStalledRequestBodyIsAnswered408WhileTheOtherStreamGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start("client_timeout = \"500ms\"\n"));
  // Stream 1 sends 10 of its 100 body bytes and stops: client_timeout answers it 408, then
  // RST_STREAM NO_ERROR (0) tells the client to stop sending. Stream 3, slower than the timeout
  // on its backend, is served on the same connection.
  EXPECT_THAT(h2DefenceRun(port(), "stalled-body", {"/delay/1500"}),
              ElementsAre("1 408 reset 0", "3 200"));
  EXPECT_EQ(defenceCount("client_timeout", 1), 1);
}

TEST_F(Http2DefencesTest, PingsDoNotKeepAConnectionWithoutStreamsOpen) {
  ASSERT_NO_FATAL_FAILURE(start("keepalive_timeout = \"1s\"\n"));
  // A PING every 200 ms, no stream: closed after keepalive_timeout all the same (the client
  // gives up after 60 s).
  EXPECT_THAT(h2DefenceRun(port(), "idle-ping"), ElementsAre("closed"));
}

TEST_F(Http2DefencesTest, AContentLengthMismatchIsAStreamError) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  // Fewer DATA bytes than content-length, then more: PROTOCOL_ERROR (1) on each stream, no
  // answer from /echo (it never got a whole request); the connection goes on.
  EXPECT_THAT(h2DefenceRun(port(), "content-length"),
              ElementsAre("1 reset 1", "3 reset 1", "5 200"));
}

TEST_F(Http2DefencesTest, AFrameAboveTheMaximumSizeIsAConnectionError) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  EXPECT_THAT(h2DefenceRun(port(), "big-frame"), ElementsAre("goaway 6", "closed"));
  // FRAME_SIZE_ERROR (6); the POST it belonged to was never answered.
}

class Http2DefencesTlsTest : public TlsProxyTest {};

TEST_F(Http2DefencesTlsTest, AlpnH2WithoutThePrefaceIsAConnectionError) {
  if (!pythonModulePresent("hpack")) GTEST_SKIP() << "python3-h2 (python3-hpack) is not installed";
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      absl::StrCat(tlsListener("https", "", "http2 = true\n"),
                   "\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backendPort(0),
                   "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  // The client chose h2 in ALPN, then sent HTTP/1.1: GOAWAY PROTOCOL_ERROR (1), no answer.
  const std::vector<std::string> lines =
      h2DefenceRun(port(), "alpn", {certificates_->rootCa(), "www.example.com"});
  EXPECT_THAT(lines, ElementsAre("goaway 1", "closed"));
}

}  // namespace
}  // namespace sy::testing
