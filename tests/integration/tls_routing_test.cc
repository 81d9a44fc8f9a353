// Routing through HTTPS listeners (issue 12): routes chosen by the SNI name, and blue/green
// switches, canary weights and mirroring working through TLS as they do over plain HTTP.

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

// The backend that answered a raw response (its X-Backend header), or "(failed)".
std::string backendOf(const std::optional<std::string>& response) {
  if (!response.has_value() || response->rfind("HTTP/1.1 200 ", 0) != 0) return "(failed)";
  const std::string marker = "\r\nX-Backend: ";
  const size_t at = response->find(marker);
  if (at == std::string::npos) return "(no X-Backend)";
  const size_t start = at + marker.size();
  return response->substr(start, response->find("\r\n", start) - start);
}

// Backends: blue (pool "blue"), green (pool "green"); TLS listener "https" and plain "http".
class TlsRoutingTest : public TlsProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TlsProxyTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  }

  void start(const std::string& routes, const std::string& extra_pools = "", int workers = 1) {
    ASSERT_NO_FATAL_FAILURE(startProxyToml(
        absl::StrCat("[server]\nworkers = ", workers, "\n\n", tlsListener("https"),
                     "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
                     "[[pools]]\nname = \"blue\"\nbackends = ", backendList({backendPort(0)}),
                     "\n\n[[pools]]\nname = \"green\"\nbackends = ", backendList({backendPort(1)}),
                     "\n\n", extra_pools, routes)));
    absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
    ASSERT_TRUE(admin_port.ok()) << admin_port.status();
    admin_port_ = *admin_port;
  }
  uint16_t httpsPort() const { return proxy_.ports.at("https"); }
  uint16_t httpPort() const { return proxy_.ports.at("http"); }

  // A verified TLS connection to the HTTPS listener with `sni`.
  void connectTls(TlsClient* client, const std::string& sni) {
    ASSERT_TRUE(client->connect(httpsPort(), trusting(sni))) << sni << ": " << client->lastError();
  }
  AdminResult admin(const std::string& method, const std::string& target) {
    return adminCall(admin_port_, method, target);
  }

  uint16_t admin_port_ = 0;
};

TEST_F(TlsRoutingTest, SniRoutesMatchOnlyTlsConnectionsWithTheirName) {
  ASSERT_NO_FATAL_FAILURE(
      start("[[routes]]\nname = \"other\"\nsni = [\"*.OTHER.test\"]\npool = \"green\"\n\n"
            "[[routes]]\nname = \"default\"\npool = \"blue\"\n"));
  // The SNI name decides, whatever Host says (the wildcard certificate serves *.other.test).
  TlsClient api;
  ASSERT_NO_FATAL_FAILURE(connectTls(&api, "api.other.test"));
  EXPECT_EQ(backendOf(get(api, "/", "www.example.com")), "green");
  EXPECT_EQ(backendOf(get(api, "/", "api.other.test")), "green");
  TlsClient www;
  ASSERT_NO_FATAL_FAILURE(connectTls(&www, "www.example.com"));
  EXPECT_EQ(backendOf(get(www, "/", "api.other.test")), "blue");
  {  // One label only: a.b.other.test gets the default certificate and the default route.
    TlsClient deep;
    TlsClientOptions options;
    options.sni = "a.b.other.test";
    ASSERT_TRUE(deep.connect(httpsPort(), options)) << deep.lastError();
    EXPECT_EQ(backendOf(get(deep, "/", "a.b.other.test")), "blue");
  }
  {  // No SNI at all: never an sni route.
    TlsClient no_sni;
    ASSERT_TRUE(no_sni.connect(httpsPort(), TlsClientOptions{})) << no_sni.lastError();
    EXPECT_EQ(backendOf(get(no_sni, "/", "api.other.test")), "blue");
  }
  // Plain HTTP never matches an sni route.
  HttpClient plain;
  ASSERT_TRUE(plain.connect(httpPort())) << plain.lastError();
  std::optional<Response> response = plain.request("GET", "/", {{"Host", "api.other.test"}});
  ASSERT_TRUE(response.has_value()) << plain.lastError();
  EXPECT_EQ(response->header("X-Backend"), "blue");
  // And openssl s_client -servername, as an operator would check it.
  auto s_client = ChildProcess::start(
      {"sh", "-c",
       absl::StrCat("printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
                    "openssl s_client -quiet -connect 127.0.0.1:",
                    httpsPort(), " -servername shop.other.test -CAfile ", certificates_->rootCa(),
                    " 2>/dev/null")});
  ASSERT_TRUE(s_client.ok()) << s_client.status();
  // s_client exits 1 when the server closes without close_notify after Connection: close; what
  // matters is that it ended (bounded) and what it received.
  EXPECT_TRUE((*s_client)->waitExit(std::chrono::seconds(15)).has_value());
  EXPECT_THAT((*s_client)->output(), ::testing::HasSubstr("X-Backend: green"));
}

TEST_F(TlsRoutingTest, BlueGreenSwitchAppliesToOpenHttpsConnections) {
  ASSERT_NO_FATAL_FAILURE(start("[[routes]]\nname = \"default\"\npool = \"blue\"\n"));
  TlsClient kept;
  ASSERT_NO_FATAL_FAILURE(connectTls(&kept, "www.example.com"));
  EXPECT_EQ(backendOf(get(kept, "/")), "blue");
  AdminResult switched = admin("POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.text();
  // The next request on the open TLS connection, and a new connection, go to green.
  EXPECT_EQ(backendOf(get(kept, "/")), "green");
  TlsClient fresh;
  ASSERT_NO_FATAL_FAILURE(connectTls(&fresh, "www.example.com"));
  EXPECT_EQ(backendOf(get(fresh, "/")), "green");
  ASSERT_EQ(admin("POST", "/admin/rollback").status, 200);
  EXPECT_EQ(backendOf(get(kept, "/")), "blue");
}

TEST_F(TlsRoutingTest, CanaryWeightSplitsHttpsRequests) {
  ASSERT_NO_FATAL_FAILURE(start("[[routes]]\nname = \"default\"\npool = \"blue\"\n", "", 2));
  AdminResult canary = admin("POST", "/admin/canary?pool=green&weight=30");
  ASSERT_EQ(canary.status, 200) << canary.text();
  constexpr int kConnections = 4;
  constexpr int kPerConnection = 100;
  int green = 0;
  for (int c = 0; c < kConnections; ++c) {
    TlsClient client;
    ASSERT_NO_FATAL_FAILURE(connectTls(&client, "www.example.com"));
    for (int i = 0; i < kPerConnection; ++i) {
      const std::string backend = backendOf(get(client, "/"));
      ASSERT_TRUE(backend == "blue" || backend == "green") << backend;
      if (backend == "green") ++green;
    }
  }
  // 400 draws at 30%: mean 120, standard deviation ~9.2; the bounds are over 6 deviations out.
  EXPECT_GT(green, 60);
  EXPECT_LT(green, 180);
  // weight=0 ends it: everything goes to blue again.
  ASSERT_EQ(admin("POST", "/admin/canary?weight=0").status, 200);
  TlsClient after;
  ASSERT_NO_FATAL_FAILURE(connectTls(&after, "www.example.com"));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(backendOf(get(after, "/")), "blue");
}

TEST_F(TlsRoutingTest, MirroringCopiesHttpsRequestsToTheShadow) {
  ASSERT_NO_FATAL_FAILURE(startBackend("shadow"));
  ASSERT_NO_FATAL_FAILURE(
      start("[[routes]]\nname = \"default\"\npool = \"blue\"\n"
            "mirror = { pool = \"shadow\", percent = 100 }\n",
            absl::StrCat("[[pools]]\nname = \"shadow\"\nbackends = ", backendList({backendPort(2)}),
                         "\n\n")));
  constexpr uint64_t kRequests = 10;
  TlsClient client;
  ASSERT_NO_FATAL_FAILURE(connectTls(&client, "www.example.com"));
  for (uint64_t i = 0; i < kRequests; ++i) {
    // The client only ever sees the primary.
    EXPECT_EQ(backendOf(get(client, absl::StrCat("/item/", i))), "blue");
  }
  EXPECT_TRUE(waitUntil([&] { return stats(2).requests == kRequests; }, milliseconds(5000)))
      << "shadow saw " << stats(2).requests;
  EXPECT_EQ(stats(0).requests, kRequests);
  EXPECT_EQ(stats(1).requests, 0u);
  // Turning the mirror off through the admin API stops the copies.
  ASSERT_EQ(admin("POST", "/admin/mirror?percent=0").status, 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(backendOf(get(client, "/")), "blue");
  EXPECT_EQ(stats(2).requests, kRequests);
}

}  // namespace
}  // namespace sy::testing
