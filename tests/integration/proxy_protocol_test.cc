// PROXY protocol listeners (HAProxy's spec, v1 and v2) over real sockets: a trusted proxy's
// header names the client for the backend (X-Forwarded-For, X-Real-IP), the access log and the
// per-address limits; a connection without a valid header, or from a peer not in
// trusted_proxies, is closed without a reply and counted. The "proxy" is the test itself,
// leaving from 127.0.0.2 (trusted) or 127.0.0.3 (not).

#include <arpa/inet.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;

constexpr char kTrusted[] = "127.0.0.2";
constexpr char kUntrusted[] = "127.0.0.3";

std::string v1(const std::string& source) {
  const bool v6 = source.find(':') != std::string::npos;
  return absl::StrCat("PROXY ", v6 ? "TCP6 " : "TCP4 ", source, v6 ? " ::1 " : " 127.0.0.1 ",
                      "51000 80\r\n");
}

// A v2 PROXY header for an IPv6 source (with an ALPN TLV to skip), or LOCAL without address.
std::string v2(const std::string& source_v6) {
  std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
  if (source_v6.empty()) return out + std::string("\x20\x00\x00\x00", 4);
  in6_addr address{};
  EXPECT_EQ(inet_pton(AF_INET6, source_v6.c_str(), &address), 1) << source_v6;
  std::string payload(reinterpret_cast<const char*>(&address), 16);
  payload += std::string(15, '\0') + '\x01';      // destination ::1
  payload += std::string("\xc7\x38\x00\x50", 4);  // ports 51000 -> 80
  payload += std::string("\x01\x00\x02h2", 5);    // PP2_TYPE_ALPN, skipped
  out += std::string("\x21\x21", 2);
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size() & 0xFF));
  return out + payload;
}

class ProxyProtocolTest : public AdminProxyTest {
 protected:
  void start(const std::string& listener_extra = "") {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    log_ = dir_.file("access.log");
    ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
        simpleConfig(
            {.backends = {backendPort(0)},
             .listener = absl::StrCat("proxy_protocol = true\ntrusted_proxies = [\"", kTrusted,
                                      "\"]\nheader_timeout = \"500ms\"\n", listener_extra)}) +
        absl::StrCat("[access_log]\npath = \"", log_, "\"\nflush_interval = \"20ms\"\n")));
  }

  std::unique_ptr<HttpClient> clientFrom(const std::string& source) {
    auto client = std::make_unique<HttpClient>(seconds(10));
    client->setSourceAddress(source);
    EXPECT_TRUE(client->connect(port())) << source << ": " << client->lastError();
    return client;
  }

  // The header, then GET /echo: the echo's JSON (null when there was no 200).
  nlohmann::json echoThrough(HttpClient& client, const std::string& header) {
    const std::string request = client.buildRequest("GET", "/echo");
    EXPECT_TRUE(client.sendRaw(header + request)) << client.lastError();
    std::optional<Response> response = client.readResponse();
    if (!response || response->status != 200) {
      ADD_FAILURE() << (response ? absl::StrCat("status ", response->status) : client.lastError());
      return nullptr;
    }
    return parseJson(response->body).value_or(nullptr);
  }

  // GET / after `header` on a fresh connection from 127.0.0.2: the status, 0 if closed.
  int statusFor(const std::string& header) {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);
    if (!client->sendRaw(header + client->buildRequest("GET", "/"))) return 0;
    std::optional<Response> response = client->readResponse();
    return response ? response->status : 0;
  }

  double metric(std::string_view name, const Labels& labels) {
    absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    return metrics.ok() ? metrics->sum(name, labels) : -1;
  }
  double rejected(std::string_view reason) {
    return metric("switchyard_proxy_protocol_rejected_total",
                  {{"listener", "http"}, {"reason", std::string(reason)}});
  }

  // Access log clients, once `count` lines are there.
  std::vector<std::string> loggedClients(size_t count) {
    std::vector<std::string> clients;
    EXPECT_TRUE(waitUntil(
        [&] {
          clients.clear();
          std::ifstream in(log_);
          for (std::string line; std::getline(in, line);) {
            if (auto json = parseJson(line)) clients.push_back((*json)["client"]);
          }
          return clients.size() >= count;
        },
        seconds(10)))
        << clients.size() << " lines";
    return clients;
  }

  // The client sees the connection end without a single byte of reply.
  void expectClosedSilently(HttpClient& client) {
    const std::string reply = client.readRaw(1024);
    EXPECT_EQ(reply, "") << "no reply expected";
    EXPECT_TRUE(client.peerClosed()) << client.lastError();
  }

  TempDir dir_;
  std::string log_;
};

TEST_F(ProxyProtocolTest, V1AndV2HeadersNameTheClientForTheBackendAndTheLog) {
  ASSERT_NO_FATAL_FAILURE(start());
  // v1, with the request in the same packet.
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);
    const nlohmann::json echo = echoThrough(*client, v1("203.0.113.7"));
    EXPECT_THAT(echoedHeader(echo, "X-Forwarded-For"), ElementsAre("203.0.113.7"));
    EXPECT_THAT(echoedHeader(echo, "X-Real-IP"), ElementsAre("203.0.113.7"));
    // Keep-alive: the second request on the connection is the same client's (and the
    // client's own X-Forwarded-For is its own claim, kept in front).
    std::optional<Response> again =
        client->request("GET", "/echo", {{"X-Forwarded-For", "198.51.100.1"}});
    ASSERT_TRUE(again) << client->lastError();
    EXPECT_THAT(echoedHeader(parseJson(again->body).value_or(nullptr), "X-Forwarded-For"),
                ElementsAre("198.51.100.1, 203.0.113.7"));
  }
  // v2 over IPv6, the header dribbled in pieces (one cut inside the signature, one in the
  // addresses), the request after a pause.
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);
    const std::string header = v2("2001:db8::7");
    ASSERT_TRUE(client->sendRaw(header.substr(0, 5)));
    ASSERT_TRUE(client->sendRaw(header.substr(5, 20)));
    ASSERT_TRUE(client->sendRaw(header.substr(25)));
    const nlohmann::json echo = echoThrough(*client, "");
    EXPECT_THAT(echoedHeader(echo, "X-Forwarded-For"), ElementsAre("2001:db8::7"));
  }
  // v2 LOCAL and v1 UNKNOWN: the proxy speaks for itself; the socket's address stands.
  for (const std::string& header : {v2(""), std::string("PROXY UNKNOWN\r\n")}) {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);
    const nlohmann::json echo = echoThrough(*client, header);
    EXPECT_THAT(echoedHeader(echo, "X-Forwarded-For"), ElementsAre(kTrusted));
  }
  EXPECT_THAT(loggedClients(5),
              ElementsAre("203.0.113.7", "203.0.113.7", "2001:db8::7", kTrusted, kTrusted));
  for (const char* reason : {"untrusted", "missing", "malformed", "timeout", "closed"}) {
    EXPECT_EQ(rejected(reason), 0) << reason;
  }
}

TEST_F(ProxyProtocolTest, LimitsApplyToTheAddressInTheHeader) {
  ASSERT_NO_FATAL_FAILURE(
      start("rate_limit = 0.1\nrate_limit_burst = 1\nmax_connections_per_ip = 1\n"));
  // Every connection comes from the same proxy; each header address has its own bucket.
  EXPECT_EQ(statusFor(v1("203.0.113.1")), 200);
  EXPECT_EQ(statusFor(v1("203.0.113.1")), 429);
  EXPECT_EQ(statusFor(v1("203.0.113.2")), 200);
  EXPECT_EQ(statusFor(v2("2001:db8::1")), 200);
  EXPECT_EQ(statusFor(v2("2001:db8::1")), 429);
  EXPECT_EQ(metric("switchyard_limited_total", {{"listener", "http"}, {"reason", "rate_limit"}}),
            2);

  // max_connections_per_ip counts the header's address, not the proxy's: a second connection
  // for 203.0.113.9 is closed, one for another client is served on the same proxy.
  std::unique_ptr<HttpClient> held = clientFrom(kTrusted);
  ASSERT_TRUE(held->sendRaw(v1("203.0.113.9") + held->buildRequest("GET", "/")));
  std::optional<Response> first = held->readResponse();
  ASSERT_TRUE(first) << held->lastError();
  EXPECT_EQ(first->status, 200);
  std::unique_ptr<HttpClient> second = clientFrom(kTrusted);
  ASSERT_TRUE(second->sendRaw(v1("203.0.113.9")));
  expectClosedSilently(*second);
  EXPECT_EQ(metric("switchyard_limited_total", {{"listener", "http"}, {"reason", "ip_conn_limit"}}),
            1);
  EXPECT_EQ(statusFor(v1("203.0.113.10")), 200);
}

TEST_F(ProxyProtocolTest, BadHeadersAndUntrustedPeersAreClosedWithoutAReplyAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);  // no header at all
    ASSERT_TRUE(client->sendRaw(client->buildRequest("GET", "/")));
    expectClosedSilently(*client);
  }
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);
    ASSERT_TRUE(client->sendRaw("PROXY TCP4 203.0.113.7 2001:db8::1 1 2\r\nGET / HTTP/1.1\r\n"));
    expectClosedSilently(*client);
  }
  {
    std::unique_ptr<HttpClient> client = clientFrom(kUntrusted);  // a valid header, but forged
    // Closed at accept: the send may meet the reset already.
    client->sendRaw(v1("203.0.113.7") + client->buildRequest("GET", "/"));
    expectClosedSilently(*client);
  }
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);  // half a header, then nothing
    ASSERT_TRUE(client->sendRaw("PROXY TCP4 203.0"));
    expectClosedSilently(*client);  // at header_timeout (500 ms)
  }
  {
    std::unique_ptr<HttpClient> client = clientFrom(kTrusted);  // half a header, then FIN
    ASSERT_TRUE(client->sendRaw(v2("2001:db8::7").substr(0, 20)));
    ::shutdown(client->fd(), SHUT_WR);
    expectClosedSilently(*client);
  }
  EXPECT_TRUE(waitUntil([&] { return rejected("closed") == 1; }, seconds(10)));
  EXPECT_EQ(rejected("missing"), 1);
  EXPECT_EQ(rejected("malformed"), 1);
  EXPECT_EQ(rejected("untrusted"), 1);
  EXPECT_EQ(rejected("timeout"), 1);
  EXPECT_EQ(stats(0).requests, 0u) << "nothing reached the backend";
  // Each refusal is logged (at most once a second per reason).
  const std::string output = proxy_.process->output();
  for (const char* reason : {"missing", "malformed", "untrusted", "timeout", "closed"}) {
    EXPECT_NE(output.find(absl::StrCat("\"reason\":\"", reason, "\"")), std::string::npos)
        << reason << "\n"
        << output;
  }
  // A good client still gets through.
  EXPECT_EQ(statusFor(v1("203.0.113.7")), 200);
}

TEST_F(ProxyProtocolTest, TheHeaderComesBeforeTheTlsHandshake) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  auto site = (*certificates)->issue("site", KeyType::kEcdsa, {"www.example.com"});
  ASSERT_TRUE(site.ok()) << site.status();
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(simpleConfig(
      {.backends = {backendPort(0)},
       .listener = absl::StrCat("proxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]\n"
                                "tls = { certificates = [ { cert = \"",
                                site->cert, "\", key = \"", site->key, "\" } ] }\n")})));
  TlsClientOptions options;
  options.sni = "www.example.com";
  options.ca_file = (*certificates)->rootCa();
  for (const std::string& header : {v1("203.0.113.7"), v2("2001:db8::7")}) {
    options.preamble = header;
    TlsClient client;
    ASSERT_TRUE(client.connect(port(), options)) << client.lastError();
    ASSERT_TRUE(client.send("GET /echo HTTP/1.1\r\nHost: www.example.com\r\n\r\n"));
    std::optional<std::string> response = client.readResponse();
    ASSERT_TRUE(response) << client.lastError();
    const size_t body = response->find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << *response;
    const nlohmann::json echo = parseJson(response->substr(body + 4)).value_or(nullptr);
    const std::string client_address = header[0] == 'P' ? "203.0.113.7" : "2001:db8::7";
    EXPECT_THAT(echoedHeader(echo, "X-Forwarded-For"), ElementsAre(client_address));
    EXPECT_THAT(echoedHeader(echo, "X-Forwarded-Proto"), ElementsAre("https"));
  }
  // Without the header, the ClientHello is not a PROXY header: closed, no handshake.
  options.preamble.clear();
  TlsClient bare;
  EXPECT_FALSE(bare.connect(port(), options));
  EXPECT_EQ(rejected("missing"), 1);
}

}  // namespace
}  // namespace sy::testing
