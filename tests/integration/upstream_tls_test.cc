// TLS to backends against a real third-party TLS server (issue 12): nginx with a certificate
// from the tests' private CA. Verification on and off, a wrong CA refused (502, logged); health
// checks of a pool with `tls` speak TLS with the pool's settings; sessions are resumed; a client
// certificate (mTLS) reaches an nginx with ssl_verify_client on, in requests and health checks.

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_server.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

class UpstreamTlsTest : public AdminProxyTest {
 protected:
  static void SetUpTestSuite() {
    auto created = TestCertificates::create();
    ASSERT_TRUE(created.ok()) << created.status();
    certificates_ = std::move(*created);
    auto backend = certificates_->issue("backend", KeyType::kEcdsa, {"backend.test"});
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_cert_ = *backend;
    auto other = TestCertificates::create();  // a CA that did not issue nginx's certificate
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = std::move(*other);
  }
  static void TearDownTestSuite() {
    certificates_.reset();
    other_ca_.reset();
  }

  // nginx serving TLS on 127.0.0.1 with the backend certificate: /health answers "healthy",
  // anything else "ok" with X-Reused (`r` when the TLS session was resumed, `.` otherwise).
  // `extra`: more directives for the server block (client certificate checks).
  void startNginx(const std::string& extra = "") {
    auto nginx = NginxServer::start(files_, [extra](uint16_t port) {
      return absl::StrCat("listen 127.0.0.1:", port, " ssl;\n", "ssl_certificate ",
                          backend_cert_.cert, ";\nssl_certificate_key ", backend_cert_.key,
                          ";\nssl_protocols TLSv1.2 TLSv1.3;\nssl_session_cache shared:tls:1m;\n",
                          extra, "location = /health { return 200 \"healthy\\n\"; }\n",
                          "location / { add_header X-Reused $ssl_session_reused always; "
                          "return 200 \"ok\\n\"; }\n");
    });
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = std::move(*nginx);
  }

  // A pool "NAME" of the nginx backend with `tls = { TLS }` and `extra` lines, and a route
  // /NAME/ to it.
  std::string poolAndRoute(const std::string& name, const std::string& tls,
                           const std::string& extra = "") const {
    return absl::StrCat("[[pools]]\nname = \"", name,
                        "\"\nbackends = ", backendList({nginx_->port()}), "\ntls = { ", tls, " }\n",
                        extra, "\n[[routes]]\nname = \"", name, "\"\npath_prefix = \"/", name,
                        "/\"\npool = \"", name, "\"\nretries = 0\n\n");
  }

  static std::string trusting(const TestCertificates& ca) {
    return absl::StrCat("sni = \"backend.test\", ca = \"", ca.rootCa(), "\"");
  }

  std::string listener() const {
    return "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n";
  }

  // The health of the nginx backend in `pool` as /admin/status reports it.
  nlohmann::json nginxBackend(const std::string& pool) {
    return backendStatus(status(), pool, localAddress(nginx_->port()));
  }
  bool waitForHealth(const std::string& pool, const std::string& health) {
    return waitUntil([&] { return nginxBackend(pool).value("health", "") == health; },
                     milliseconds(10000));
  }

  static inline std::unique_ptr<TestCertificates> certificates_;
  static inline std::unique_ptr<TestCertificates> other_ca_;
  static inline CertificateFiles backend_cert_;
  TempDir files_;
  std::unique_ptr<NginxServer> nginx_;
};

const std::string kCheck =
    "[pools.health_check]\npath = \"/health\"\nbody_contains = \"healthy\"\ninterval = "
    "\"100ms\"\ntimeout = \"1s\"\nhealthy_threshold = 1\nunhealthy_threshold = 1\n";

TEST_F(UpstreamTlsTest, HealthChecksSpeakTlsWithThePoolSettings) {
  ASSERT_NO_FATAL_FAILURE(startNginx());
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      absl::StrCat(listener(), poolAndRoute("good", trusting(*certificates_), kCheck),
                   poolAndRoute("noverify", "sni = \"backend.test\", verify = false", kCheck),
                   poolAndRoute("wrongca", trusting(*other_ca_), kCheck))));

  // The HTTP check passes only over TLS (nginx answers plain HTTP on its TLS port with 400).
  EXPECT_TRUE(waitForHealth("good", "healthy")) << nginxBackend("good").dump();
  EXPECT_TRUE(waitForHealth("noverify", "healthy")) << nginxBackend("noverify").dump();
  EXPECT_TRUE(waitForHealth("wrongca", "unhealthy")) << nginxBackend("wrongca").dump();
  EXPECT_EQ(nginxBackend("wrongca").value("last_error", ""),
            "tls handshake: unable to get local issuer certificate");
  // The transition is logged with the reason.
  EXPECT_TRUE(proxy_.process->waitForLine(
      [](const std::string& line) {
        return line.find("\"health_transition\"") != std::string::npos &&
               line.find("\"wrongca\"") != std::string::npos &&
               line.find("unable to get local issuer certificate") != std::string::npos;
      },
      milliseconds(5000)))
      << nginx_->errorLog();

  std::optional<Response> good = httpGet(port(), "/good/");
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(good->body, "ok\n");
}

TEST_F(UpstreamTlsTest, PoolTlsToNginxWithAPrivateCa) {
  ASSERT_NO_FATAL_FAILURE(startNginx());
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      absl::StrCat(listener(), poolAndRoute("verified", trusting(*certificates_)),
                   // The system store does not know the tests' CA: only verify = false accepts it.
                   poolAndRoute("unverified", "sni = \"backend.test\", verify = false"),
                   poolAndRoute("wrongca", trusting(*other_ca_)))));

  for (const char* path : {"/verified/", "/unverified/"}) {
    std::optional<Response> response = httpGet(port(), path);
    ASSERT_TRUE(response.has_value()) << path;
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_EQ(response->body, "ok\n") << path;
  }
  std::optional<Response> refused = httpGet(port(), "/wrongca/");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 502);
  EXPECT_TRUE(proxy_.process->waitForLine(
      [&](const std::string& line) {
        return line.find("upstream_tls_handshake_failed") != std::string::npos &&
               line.find(localAddress(nginx_->port())) != std::string::npos &&
               line.find("unable to get local issuer certificate") != std::string::npos;
      },
      milliseconds(5000)))
      << nginx_->errorLog();
}

TEST_F(UpstreamTlsTest, SessionsToABackendAreResumed) {
  ASSERT_NO_FATAL_FAILURE(startNginx());
  // keepalive_max_idle = 0: every request opens a new connection, so each one is a handshake.
  // One worker: sessions are kept per worker, and each client connection may land on any.
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(
      absl::StrCat("[server]\nworkers = 1\n\n", listener(),
                   poolAndRoute("app", trusting(*certificates_), "keepalive_max_idle = 0\n"))));

  // nginx says whether it resumed the session: "." for the first connection, "r" after.
  std::vector<std::string> reused;
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> response = httpGet(port(), "/app/");
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->status, 200);
    reused.push_back(response->header("X-Reused").value_or("(none)"));
  }
  EXPECT_EQ(reused, (std::vector<std::string>{".", "r", "r"})) << nginx_->errorLog();

  absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  const Labels backend = {{"pool", "app"}, {"backend", localAddress(nginx_->port())}};
  Labels full = backend, resumed = backend;
  full["session"] = "full";
  resumed["session"] = "resumed";
  EXPECT_EQ(metrics->value("switchyard_backend_tls_handshakes_total", full), 1);
  EXPECT_EQ(metrics->value("switchyard_backend_tls_handshakes_total", resumed), 2);
}

TEST_F(UpstreamTlsTest, ClientCertificateToABackendThatRequiresOne) {
  auto client = certificates_->issue("proxy-client", KeyType::kEcdsa, {"proxy.test"});
  ASSERT_TRUE(client.ok()) << client.status();
  // nginx asks every client for a certificate under the tests' CA and names the one it got.
  ASSERT_NO_FATAL_FAILURE(startNginx(absl::StrCat(
      "ssl_verify_client on;\nssl_client_certificate ", certificates_->rootCa(),
      ";\nlocation ~ /whoami$ { return 200 \"$ssl_client_verify $ssl_client_s_dn\\n\"; }\n")));
  const std::string with_cert = absl::StrCat(trusting(*certificates_), ", cert = \"", client->cert,
                                             "\", key = \"", client->key, "\"");
  ASSERT_NO_FATAL_FAILURE(startProxyWithAdmin(absl::StrCat(
      listener(), poolAndRoute("mtls", with_cert, kCheck),
      poolAndRoute("anonymous", trusting(*certificates_), kCheck),
      poolAndRoute("unchecked", trusting(*certificates_)),
      // The health check goes to /whoami and wants the certificate verified: it speaks TLS with
      // the pool's client certificate, exactly as requests do.
      "[[pools]]\nname = \"checked\"\nbackends = ", backendList({nginx_->port()}), "\ntls = { ",
      with_cert,
      " }\n[pools.health_check]\npath = \"/whoami\"\nbody_contains = \"SUCCESS\"\n"
      "interval = \"100ms\"\ntimeout = \"1s\"\nhealthy_threshold = 1\nunhealthy_threshold = 1\n")));

  // Health: only the pools that send the certificate are healthy (nginx answers a client
  // without one 400 "No required SSL certificate was sent", which fails the check).
  EXPECT_TRUE(waitForHealth("mtls", "healthy")) << nginxBackend("mtls").dump();
  EXPECT_TRUE(waitForHealth("checked", "healthy")) << nginxBackend("checked").dump();
  EXPECT_TRUE(waitForHealth("anonymous", "unhealthy")) << nginxBackend("anonymous").dump();

  std::optional<Response> proxied = httpGet(port(), "/mtls/whoami");
  ASSERT_TRUE(proxied.has_value());
  EXPECT_EQ(proxied->status, 200) << proxied->body;
  // nginx verified the certificate Switchyard sent, and it is the pool's.
  EXPECT_EQ(proxied->body.rfind("SUCCESS CN=proxy.test", 0), 0u) << proxied->body;

  // Without a certificate nginx completes the handshake and refuses the request at the HTTP
  // level: its 400 is the backend's answer and reaches the client as it is (no 502: nothing
  // failed between Switchyard and nginx). The unhealthy pool gets no request at all.
  std::optional<Response> refused = httpGet(port(), "/unchecked/whoami");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_NE(refused->body.find("No required SSL certificate was sent"), std::string::npos)
      << refused->body;
  std::optional<Response> unhealthy = httpGet(port(), "/anonymous/whoami");
  ASSERT_TRUE(unhealthy.has_value());
  EXPECT_EQ(unhealthy->status, 503) << unhealthy->body;
}

}  // namespace
}  // namespace sy::testing
