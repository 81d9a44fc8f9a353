// Real third-party servers behind the proxy: Python's http.server (HTTP/1.0, one response per
// connection) and nginx. What a client gets through the proxy must be byte for byte what the
// server sends. These programs are required (CI installs them): a missing one fails the test.

#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_server.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class ProxyThirdPartyTest : public ProxyTest {
 protected:
  void TearDown() override {
    ProxyTest::TearDown();
    if (server_ != nullptr) {
      server_->signal(SIGTERM);
      server_->waitExit(milliseconds(5000));
    }
  }

  // GETs `target` directly from the server and through the proxy on `client` (kept open) and
  // expects the same status and body.
  void expectSameThroughProxy(HttpClient& client, uint16_t server_port, const std::string& target,
                              const std::string& expected_body, int expected_status = 200) {
    std::string error;
    std::optional<Response> direct = httpGet(server_port, target, {}, &error);
    ASSERT_TRUE(direct.has_value()) << error;
    std::optional<Response> proxied = client.request("GET", target);
    ASSERT_TRUE(proxied.has_value()) << target << ": " << client.lastError();
    EXPECT_EQ(direct->status, expected_status) << target;
    EXPECT_EQ(proxied->status, expected_status) << target;
    EXPECT_EQ(direct->body.size(), expected_body.size()) << target;
    EXPECT_EQ(proxied->body.size(), expected_body.size()) << target;
    EXPECT_TRUE(direct->body == expected_body) << target;
    EXPECT_TRUE(proxied->body == expected_body) << target;
    EXPECT_TRUE(proxied->keep_alive) << target << ": the client connection must survive";
    EXPECT_FALSE(client.peerClosed()) << target;
  }

  std::unique_ptr<ChildProcess> server_;
  TempDir files_;
};

TEST_F(ProxyThirdPartyTest, PythonHttpServer) {
  const std::string python = findProgram("python3");
  ASSERT_FALSE(python.empty()) << "python3 is required for this test (scripts/setup.sh --test "
                                  "installs it); it was not found in PATH";
  const std::string text = "hello from a file\n";
  const std::string binary = testBody(3 * 1024 * 1024 + 11, 9);
  files_.writeFile("www/hello.txt", text);
  files_.writeFile("www/data.bin", binary);
  // -u: unbuffered, so that the port it prints reaches us at once.
  absl::StatusOr<std::unique_ptr<ChildProcess>> started =
      ChildProcess::start({python, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                           "--directory", files_.file("www")});
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = std::move(*started);
  // "Serving HTTP on 127.0.0.1 port 45678 (http://127.0.0.1:45678/) ..."
  const std::optional<std::string> line = server_->waitForLine(
      [](const std::string& text_line) { return text_line.find(" port ") != std::string::npos; },
      milliseconds(10000));
  ASSERT_TRUE(line.has_value()) << "python3 -m http.server did not start:\n" << server_->output();
  uint32_t port = 0;
  const size_t at = line->find(" port ") + 6;
  ASSERT_TRUE(absl::SimpleAtoi(line->substr(at, line->find(' ', at) - at), &port)) << *line;

  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {static_cast<uint16_t>(port)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Each answer comes in HTTP/1.0 on a connection python closes; the client connection stays.
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        expectSameThroughProxy(client, static_cast<uint16_t>(port), "/hello.txt", text));
  }
  ASSERT_NO_FATAL_FAILURE(
      expectSameThroughProxy(client, static_cast<uint16_t>(port), "/data.bin", binary));
  std::optional<Response> missing = client.request("GET", "/missing.txt");
  ASSERT_TRUE(missing.has_value()) << client.lastError();
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(missing->keep_alive);
  std::optional<Response> again = client.request("GET", "/hello.txt");
  ASSERT_TRUE(again.has_value()) << client.lastError();
  EXPECT_EQ(again->body, text);
}

// An HTTP/1.0 server that ends its body by closing the connection (no Content-Length): the
// proxy must re-frame it (chunked) for an HTTP/1.1 client and keep that client's connection.
TEST_F(ProxyThirdPartyTest, PythonCloseDelimitedResponse) {
  const std::string python = findProgram("python3");
  ASSERT_FALSE(python.empty()) << "python3 is required for this test (scripts/setup.sh --test "
                                  "installs it); it was not found in PATH";
  const std::string script = R"PY(
import http.server, sys
BODY = bytes((i * 7 + 3) % 251 for i in range(300001))
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()  # no Content-Length: the close ends the body
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
)PY";
  absl::StatusOr<std::unique_ptr<ChildProcess>> started =
      ChildProcess::start({python, "-u", "-c", script});
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = std::move(*started);
  const std::optional<std::string> line = server_->waitForLine(
      [](const std::string& text_line) { return text_line.rfind("port ", 0) == 0; },
      milliseconds(10000));
  ASSERT_TRUE(line.has_value()) << "the python server did not start:\n" << server_->output();
  uint32_t port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line->substr(5), &port)) << *line;
  std::string expected(300001, '\0');
  for (size_t i = 0; i < expected.size(); ++i) {
    expected[i] = static_cast<char>((i * 7 + 3) % 251);
  }

  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {static_cast<uint16_t>(port)}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(response->body.size(), expected.size());
    EXPECT_TRUE(response->body == expected);
    EXPECT_TRUE(response->keep_alive);
  }
  // An HTTP/1.0 client knows no chunked encoding: the proxy's close ends the body for it.
  HttpClient old_client;
  ASSERT_NO_FATAL_FAILURE(connect(&old_client));
  ASSERT_TRUE(old_client.sendRaw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  std::optional<Response> response = old_client.readResponse();
  ASSERT_TRUE(response.has_value()) << old_client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->header("Transfer-Encoding").has_value());
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(response->body == expected);
  EXPECT_TRUE(old_client.peerClosed());
}

TEST_F(ProxyThirdPartyTest, Nginx) {
  const std::string text = "static text served by nginx\n";
  const std::string binary = testBody(8 * 1024 * 1024 + 5, 11);
  files_.writeFile("www/index.txt", text);
  files_.writeFile("www/data.bin", binary);
  absl::StatusOr<std::unique_ptr<NginxServer>> nginx = NginxServer::start(files_, [](uint16_t p) {
    return absl::StrCat("listen 127.0.0.1:", p, ";\nlocation = /empty { return 204; }\n");
  });
  ASSERT_TRUE(nginx.ok()) << nginx.status();
  const uint16_t port = (*nginx)->port();

  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {port}}));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(expectSameThroughProxy(client, port, "/index.txt", text));
  }
  ASSERT_NO_FATAL_FAILURE(expectSameThroughProxy(client, port, "/data.bin", binary));
  ASSERT_NO_FATAL_FAILURE(expectSameThroughProxy(client, port, "/empty", "", 204));
  ASSERT_NO_FATAL_FAILURE(expectSameThroughProxy(client, port, "/index.txt", text));

  // Validators and ranges pass through untouched.
  std::optional<Response> full = client.request("GET", "/data.bin");
  ASSERT_TRUE(full.has_value()) << client.lastError();
  ASSERT_TRUE(full->header("ETag").has_value());
  std::optional<Response> not_modified =
      client.request("GET", "/data.bin", {{"If-None-Match", *full->header("ETag")}});
  ASSERT_TRUE(not_modified.has_value()) << client.lastError();
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  std::optional<Response> range =
      client.request("GET", "/data.bin", {{"Range", "bytes=1000-1999"}});
  ASSERT_TRUE(range.has_value()) << client.lastError();
  EXPECT_EQ(range->status, 206);
  EXPECT_TRUE(range->body == binary.substr(1000, 1000));
  std::optional<Response> head = client.request("HEAD", "/data.bin");
  ASSERT_TRUE(head.has_value()) << client.lastError();
  EXPECT_EQ(head->header("Content-Length"), std::to_string(binary.size()));
  EXPECT_EQ(head->body, "");
  std::optional<Response> last = client.request("GET", "/index.txt");
  ASSERT_TRUE(last.has_value()) << client.lastError();
  EXPECT_EQ(last->body, text);
}

}  // namespace
}  // namespace sy::testing
