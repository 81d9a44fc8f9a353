// Malformed and refused requests: each is answered by the proxy itself with the right status,
// the connection is closed (the stream cannot be trusted after it), and nothing of it reaches
// the backend, so that no request smuggling is possible through the proxy.

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

struct MalformedCase {
  std::string name;
  std::string bytes;
  int status;
};

void PrintTo(const MalformedCase& malformed, std::ostream* out) { *out << malformed.name; }

std::vector<MalformedCase> malformedCases() {
  const std::string long_url = "/" + std::string(9000, 'a');
  std::string many_headers;
  for (int i = 0; i < 101; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  const std::string huge_header = "X-Big: " + std::string(40000, 'b') + "\r\n";
  return {
      {"content_length_and_transfer_encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"transfer_encoding_and_content_length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"duplicate_content_length_same_value",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
       400},
      {"duplicate_content_length_different_values",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       400},
      {"content_length_list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
       400},
      {"content_length_not_a_number",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello", 400},
      {"content_length_negative", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
       400},
      {"transfer_encoding_not_chunked",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello", 400},
      {"transfer_encoding_chunked_not_last",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"obs_fold", "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400},
      {"obs_fold_empty_value", "GET / HTTP/1.1\r\nHost: x\r\nX-Folded:\r\n b\r\n\r\n", 400},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost: x\r\nX-Test : y\r\n\r\n", 400},
      {"space_before_colon_transfer_encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n"
       "hello",
       400},
      {"bare_lf_line_ends", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"bare_lf_in_headers", "GET / HTTP/1.1\r\nHost: x\nX-Test: y\r\n\r\n", 400},
      {"bare_cr", "GET / HTTP/1.1\r\nHost: x\rX-Test: y\r\n\r\n", 400},
      {"no_host_in_http11", "GET / HTTP/1.1\r\nX-Test: y\r\n\r\n", 400},
      {"two_hosts", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400},
      {"nul_in_header_value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Test: a\0b\r\n\r\n", 41),
       400},
      {"bad_method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"bad_version", "GET / HTTP/1.7\r\nHost: x\r\n\r\n", 400},
      {"request_line_too_long", "GET " + long_url + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"too_many_headers", "GET / HTTP/1.1\r\nHost: x\r\n" + many_headers + "\r\n", 431},
      {"header_too_large", "GET / HTTP/1.1\r\nHost: x\r\n" + huge_header + "\r\n", 431},
      {"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405},
  };
}

class ProxyMalformedTest : public ProxyTest, public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(ProxyMalformedTest, IsRejectedClosedAndNeverForwarded) {
  const MalformedCase& bad = GetParam();
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  // A healthy keep-alive connection next to it is not disturbed.
  HttpClient bystander;
  ASSERT_NO_FATAL_FAILURE(connect(&bystander));
  ASSERT_TRUE(bystander.request("GET", "/").has_value()) << bystander.lastError();
  const BackendStats before = stats(0);

  HttpClient client(milliseconds(5000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(bad.bytes)) << client.lastError();
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, bad.status) << response->body;
  EXPECT_EQ(response->header("Server"), "switchyard");
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(client.waitForPeerClose(milliseconds(3000))) << client.lastError();

  const BackendStats after = stats(0);
  EXPECT_EQ(after.requests, before.requests) << "the request reached the backend";
  EXPECT_EQ(after.connections, before.connections + 1) << "only the stats request connected";
  std::optional<Response> still = bystander.request("GET", "/");
  ASSERT_TRUE(still.has_value()) << bystander.lastError();
  EXPECT_EQ(still->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Requests, ProxyMalformedTest, ::testing::ValuesIn(malformedCases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& param) {
                           return param.param.name;
                         });

class ProxyMalformedBodyTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}));
  }

  // Sends a chunked POST /echo with `body` as its raw chunked body. The client must get a 400 or
  // a closed connection, never a hang and never the backend's answer to a body the proxy made
  // up; the proxy stays up for others.
  void expectRejected(const std::string& body) {
    HttpClient client(milliseconds(5000));
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    ASSERT_TRUE(client.sendRaw(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body));
    std::optional<Response> response = client.readResponse();
    if (response.has_value()) {
      EXPECT_EQ(response->status, 400) << ::testing::PrintToString(body) << ": " << response->body;
    } else {
      EXPECT_TRUE(client.peerClosed())
          << ::testing::PrintToString(body) << ": " << client.lastError();
    }
    EXPECT_TRUE(client.waitForPeerClose(milliseconds(3000))) << ::testing::PrintToString(body);
    std::string error;
    std::optional<Response> after = httpGet(port(), "/", {}, &error);
    ASSERT_TRUE(after.has_value()) << error;
    EXPECT_EQ(after->status, 200);
  }
};

// The head was fine and went to the backend; the body turns out malformed while streaming.
TEST_F(ProxyMalformedBodyTest, BadChunkSizeEndsTheExchange) {
  ASSERT_NO_FATAL_FAILURE(expectRejected("zz\r\nhello\r\n0\r\n\r\n"));
  ASSERT_NO_FATAL_FAILURE(expectRejected("5\r\nhello\r\n-1\r\n\r\n"));
  ASSERT_NO_FATAL_FAILURE(expectRejected("5\r\nhello\r\n10000000000000000\r\n"));
}

// RFC 9112 §7.1: chunk data is followed by CRLF. Taking any two bytes there means the proxy
// reads a different body than a strict parser would.
TEST_F(ProxyMalformedBodyTest, ChunkDataNotFollowedByCrlfIsRejected) {
  ASSERT_NO_FATAL_FAILURE(expectRejected("5\r\nhelloXX0\r\n\r\n"));
  ASSERT_NO_FATAL_FAILURE(expectRejected("5\r\nhello\n\n0\r\n\r\n"));
  ASSERT_NO_FATAL_FAILURE(expectRejected("3\r\nabc0\r\n\r\n"));
}

}  // namespace
}  // namespace sy::testing
