// Hibernation of idle HTTP/2 connections (proxy/h2_session_memory.h): a connection with no
// stream for a second packs its nghttp2 session away (switchyard_http2_connections_hibernated
// counts it); the next frame wakes it, on the same connection, with its HPACK tables intact
// both ways; a drain sends a hibernated connection its GOAWAY. Over TLS as over h2c: the session
// does not know its transport.

#include <unistd.h>

#include <csignal>
#include <memory>
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
#include "tests/support/test_certificates.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One HTTP/2 connection (python3-h2); argv: proxy port, admin port, "TLS" (h2 in ALPN, the
// certificate not checked), "h2c" or "h2c-proxy" (h2c after a PROXY v1 header naming the client
// 203.0.113.7), then steps: "GET <id>" (a
// GET with x-request-id: <id>, printed as "<status> <body> <x-echo>"), "WAIT" (until /metrics
// counts a hibernated connection, 30 s at most; prints "hibernated"), "GOAWAY" (reads until
// the proxy's GOAWAY and the end: "goaway <code> <last stream>", then "closed"), "PING" (a PING,
// until its ACK: "pong"), "CLOSE" (closes the socket: "left").
constexpr char kHttp2HibernateClient[] = R"PY(
import socket, ssl, sys, time, urllib.request
import h2.config, h2.connection, h2.events
port, admin, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "TLS"
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
if sys.argv[3] == "h2c-proxy":
    sock.sendall(b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n")
if tls:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(sock, server_hostname="localhost")
    if sock.selected_alpn_protocol() != "h2":
        print("ALPN chose", sock.selected_alpn_protocol(), flush=True); sys.exit(1)
conn = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
def hibernated():
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10).read()
    for line in text.decode().splitlines():
        if line.startswith("switchyard_http2_connections_hibernated "):
            return float(line.split()[1])
    return 0.0
def wait_hibernated():
    deadline = time.time() + 30
    while hibernated() < 1:
        if time.time() > deadline:
            print("never hibernated", flush=True); sys.exit(1)
        time.sleep(0.05)
    print("hibernated", flush=True)
def get(request_id):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/"),
                            (":scheme", "https" if tls else "http"),
                            (":authority", "127.0.0.1"), ("x-request-id", request_id)],
                      end_stream=True)
    sock.sendall(conn.data_to_send())
    status, echo, body = None, None, b""
    while True:
        data = sock.recv(65536)
        if not data:
            print("closed", flush=True); sys.exit(1)
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
                fields = dict(event.headers)
                status, echo = fields[":status"], fields.get("x-echo")
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                sock.sendall(conn.data_to_send())
                print(status, body.decode().strip(), echo, flush=True); return
            elif isinstance(event, h2.events.StreamReset) and event.stream_id == sid:
                print("reset", int(event.error_code), flush=True); return
        sock.sendall(conn.data_to_send())
def goaway():
    while True:
        data = sock.recv(65536)
        if not data:
            print("closed", flush=True); return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ConnectionTerminated):
                print("goaway", int(event.error_code), event.last_stream_id, flush=True)
        sock.sendall(conn.data_to_send())
def ping():
    conn.ping(b"idle-png")
    sock.sendall(conn.data_to_send())
    while True:
        data = sock.recv(65536)
        if not data:
            print("closed", flush=True); sys.exit(1)
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.PingAckReceived):
                print("pong", flush=True); return
        sock.sendall(conn.data_to_send())
for step in sys.argv[4:]:
    words = step.split(" ")
    if words[0] == "GET":
        get(words[1])
    elif words[0] == "WAIT":
        wait_hibernated()
    elif words[0] == "GOAWAY":
        goaway()
    elif words[0] == "PING":
        ping()
    elif words[0] == "CLOSE":
        sock.close()
        print("left", flush=True)
)PY";

// The route echoes the request's X-Request-ID in X-Echo (or `echo`): HPACK both ways.
// `listener_extra`: more keys of the listener (its TLS table).
std::string http2HibernateConfig(uint16_t backend, const std::string& listener_extra = "",
                                 const std::string& echo = "{request_id}") {
  return absl::StrCat(
      "[server]\nworkers = 1\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n"
      "http2 = true\n",
      listener_extra, "\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backend,
      "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n"
      "response_headers = { set = { \"X-Echo\" = \"",
      echo, "\" } }\n");
}

class Http2HibernateTest : public AdminProxyTest {
 protected:
  void SetUp() override {
    if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  }
  // Backend "blue" behind a proxy with http2HibernateConfig(`listener_extra`), its admin port
  // learnt.
  void startBlueBehindProxy(const std::string& listener_extra = "") {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(http2HibernateConfig(backendPort(0), listener_extra)));
    ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  }
  std::optional<double> hibernatedNow() {
    absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
    if (!metrics.ok()) return std::nullopt;
    return metrics->value("switchyard_http2_connections_hibernated");
  }
  // A client with `steps` (kHttp2HibernateClient) over h2c, run to its end.
  std::vector<std::string> runClient(const std::vector<std::string>& steps,
                                     const std::string& mode = "h2c") {
    std::vector<std::string> argv = {"/usr/bin/python3",          "-c",
                                     kHttp2HibernateClient,       std::to_string(port()),
                                     std::to_string(admin_port_), mode};
    argv.insert(argv.end(), steps.begin(), steps.end());
    auto client = ChildProcess::start(argv);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return {};
    EXPECT_EQ((*client)->waitExit(std::chrono::seconds(90)), 0) << (*client)->output();
    return (*client)->stdoutLines();
  }
  // A client whose one request was answered and whose connection now sleeps, waiting for the
  // proxy's GOAWAY (steps "GET one", "WAIT", "GOAWAY"); nullptr, with a failure, otherwise.
  std::unique_ptr<ChildProcess> startClientSleepingUntilGoaway() {
    auto client = ChildProcess::start({"/usr/bin/python3", "-c", kHttp2HibernateClient,
                                       std::to_string(port()), std::to_string(admin_port_), "h2c",
                                       "GET one", "WAIT", "GOAWAY"});
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    const bool slept =
        waitUntil([&] { return (*client)->output().find("hibernated") != std::string::npos; },
                  std::chrono::seconds(60));
    EXPECT_TRUE(slept) << (*client)->output();
    return slept ? std::move(*client) : nullptr;
  }
  // That client got a GOAWAY with no error naming stream 1 as the last, then the end.
  static void expectGoawayAfterStreamOne(ChildProcess& client) {
    EXPECT_EQ(client.waitExit(std::chrono::seconds(30)), 0) << client.output();
    EXPECT_THAT(client.stdoutLines(),
                ElementsAre("200 blue one", "hibernated", "goaway 0 1", "closed"))
        << client.output();
  }
  // The proxy goes on serving after an idle-path event: nothing hibernated is left counted
  // (the connection was woken to be freed), and a new connection gets its answer.
  void expectNothingHibernatedAndServing() {
    EXPECT_TRUE(waitUntil([&] { return hibernatedNow() == std::optional<double>(0); },
                          std::chrono::seconds(30)));
    EXPECT_THAT(runClient({"GET after"}), ElementsAre("200 blue after"));
  }
};

TEST_F(Http2HibernateTest, AHibernatedConnectionWakesWithItsHpackTables) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy());
  EXPECT_EQ(hibernatedNow(), std::optional<double>(0));
  const std::string id = "tenant-" + std::string(40, 'a');  // indexed from its second use on
  auto client =
      ChildProcess::start({"/usr/bin/python3", "-c", kHttp2HibernateClient, std::to_string(port()),
                           std::to_string(admin_port_), "h2c", "GET " + id, "GET " + id, "WAIT",
                           "GET " + id, "GET " + id, "GET other", "WAIT", "GET " + id});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->waitExit(std::chrono::seconds(90)), 0) << (*client)->output();
  const std::string answer = "200 blue " + id;
  EXPECT_THAT((*client)->stdoutLines(), ElementsAre(answer, answer, "hibernated", answer, answer,
                                                    "200 blue other", "hibernated", answer))
      << (*client)->output();
  EXPECT_EQ(stats(0).requests, 6u);
  // The client has gone: its connection, woken to be freed, is not counted any more.
  EXPECT_TRUE(waitUntil([&] { return hibernatedNow() == std::optional<double>(0); },
                        std::chrono::seconds(30)));
}

TEST_F(Http2HibernateTest, DrainSendsAHibernatedConnectionItsGoaway) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy());
  std::unique_ptr<ChildProcess> client = startClientSleepingUntilGoaway();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  expectGoawayAfterStreamOne(*client);
}

// Also the responses' HPACK table off: its fields as literals, and no table to hibernate.
TEST_F(Http2HibernateTest, AnH2ConnectionOverTlsHibernatesAndWakes) {
  auto certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  auto leaf = (*certificates)->issue("localhost", KeyType::kEcdsa, {"localhost"});
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2HibernateConfig(
      backendPort(0), absl::StrCat("tls = { certificates = [ ", certificateEntry(*leaf),
                                   " ] }\nhttp2_response_hpack_table_size = 0\n"))));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  const std::string id = "tenant-" + std::string(40, 'b');
  auto client = ChildProcess::start({"/usr/bin/python3", "-c", kHttp2HibernateClient,
                                     std::to_string(port()), std::to_string(admin_port_), "TLS",
                                     "GET " + id, "WAIT", "GET " + id, "WAIT", "GET other"});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->waitExit(std::chrono::seconds(90)), 0) << (*client)->output();
  const std::string answer = "200 blue " + id;
  EXPECT_THAT((*client)->stdoutLines(),
              ElementsAre(answer, "hibernated", answer, "hibernated", "200 blue other"))
      << (*client)->output();
  EXPECT_EQ(stats(0).requests, 3u);
}

// The connection object sleeps in its slot with the session: every event that reaches an idle
// connection wakes it first. A PING is answered, and the connection sleeps again.
TEST_F(Http2HibernateTest, APingWakesAHibernatedConnectionWhichSleepsAgain) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy());
  EXPECT_THAT(
      runClient({"GET one", "WAIT", "PING", "WAIT", "PING", "GET two"}),
      ElementsAre("200 blue one", "hibernated", "pong", "hibernated", "pong", "200 blue two"));
  expectNothingHibernatedAndServing();
}

TEST_F(Http2HibernateTest, AClientThatLeavesWhileHibernatedIsFreed) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy());
  EXPECT_THAT(runClient({"GET one", "WAIT", "CLOSE"}),
              ElementsAre("200 blue one", "hibernated", "left"));
  expectNothingHibernatedAndServing();
}

// The keep-alive timeout (DownstreamConnection's timer) runs on while the session sleeps.
TEST_F(Http2HibernateTest, TheKeepAliveTimeoutClosesAHibernatedConnection) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy("keepalive_timeout = \"4s\"\n"));
  EXPECT_THAT(runClient({"GET one", "WAIT", "GOAWAY"}),
              ElementsAre("200 blue one", "hibernated", "closed"));
  expectNothingHibernatedAndServing();
}

// A reload that changes the listener retires its connections: a hibernated one gets its GOAWAY.
TEST_F(Http2HibernateTest, AReloadSendsAHibernatedConnectionItsGoaway) {
  ASSERT_NO_FATAL_FAILURE(startBlueBehindProxy());
  std::unique_ptr<ChildProcess> client = startClientSleepingUntilGoaway();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<nlohmann::json> event =
      proxy_.reload(http2HibernateConfig(backendPort(0), "http2_max_concurrent_streams = 64\n"));
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_EQ((*event)["event"], "config_reloaded") << event->dump();
  expectGoawayAfterStreamOne(*client);
  expectNothingHibernatedAndServing();
}

// On a proxy_protocol listener the connection keeps the PROXY header's client outside the
// slot, and the H2 state where an HTTP/1.1 connection keeps its exchange: the client named by
// the header is still the client after the connection slept and woke (twice).
TEST_F(Http2HibernateTest, AProxyProtocolConnectionKeepsItsClientAcrossHibernations) {
  if (!pythonModulePresent("h2")) GTEST_SKIP() << "python3-h2 is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(http2HibernateConfig(
      backendPort(0), "proxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]\n",
      "{client_ip}")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  EXPECT_THAT(runClient({"GET one", "WAIT", "GET two", "WAIT", "PING", "GET three"}, "h2c-proxy"),
              ElementsAre("200 blue 203.0.113.7", "hibernated", "200 blue 203.0.113.7",
                          "hibernated", "pong", "200 blue 203.0.113.7"));
  EXPECT_EQ(stats(0).requests, 3u);
  EXPECT_TRUE(waitUntil([&] { return hibernatedNow() == std::optional<double>(0); },
                        std::chrono::seconds(30)));
  EXPECT_THAT(runClient({"GET after"}, "h2c-proxy"), ElementsAre("200 blue 203.0.113.7"));
}

}  // namespace
}  // namespace sy::testing
