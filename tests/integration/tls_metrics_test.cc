// TLS metrics on /metrics (issue 12): real handshakes of every kind against an HTTPS listener,
// then the counters by result, resumption and version, and the certificates' expiry gauge.

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using TlsMetricsTest = TlsProxyTest;

// Waits until every expected series has its value; on timeout, fails naming what differs.
void expectEventually(uint16_t admin_port, const std::string& name,
                      const std::map<std::string, double>& by_label, const std::string& label) {
  std::map<std::string, std::optional<double>> seen;
  const bool matched = waitUntil(
      [&] {
        absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port);
        if (!metrics.ok()) return false;
        bool all = true;
        for (const auto& [value, expected] : by_label) {
          seen[value] = metrics->value(name, {{"listener", "https"}, {label, value}});
          all = all && seen[value] == expected;
        }
        return all;
      },
      milliseconds(5000));
  if (matched) return;
  for (const auto& [value, expected] : by_label) {
    EXPECT_EQ(seen[value], expected) << name << "{" << label << "=\"" << value << "\"}";
  }
}

TEST_F(TlsMetricsTest, CountsHandshakesByResultVersionAndResumption) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config("", 2)));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();

  // ok, TLS 1.3, a full handshake; its ticket is resumed below.
  SSL_SESSION* session = nullptr;
  {
    TlsClient first;
    ASSERT_TRUE(first.connect(port(), trusting("www.example.com"))) << first.lastError();
    ASSERT_TRUE(get(first, "/").has_value()) << first.lastError();
    session = first.takeSession();
  }
  ASSERT_NE(session, nullptr);
  {  // ok, TLS 1.3, resumed
    TlsClientOptions options = trusting("www.example.com");
    options.session = session;
    TlsClient again;
    ASSERT_TRUE(again.connect(port(), options)) << again.lastError();
    EXPECT_TRUE(again.resumed());
    ASSERT_TRUE(get(again, "/").has_value()) << again.lastError();
  }
  SSL_SESSION_free(session);
  {  // ok, TLS 1.2
    TlsClientOptions tls12 = trusting("www.example.com");
    tls12.max_version = TLS1_2_VERSION;
    TlsClient client;
    ASSERT_TRUE(client.connect(port(), tls12)) << client.lastError();
    ASSERT_TRUE(get(client, "/").has_value()) << client.lastError();
  }
  {  // protocol_version: TLS 1.1 is refused
    TlsClientOptions old = trusting("www.example.com");
    old.min_version = old.max_version = TLS1_1_VERSION;
    old.ciphers = "DEFAULT@SECLEVEL=0";
    TlsClient client;
    EXPECT_FALSE(client.connect(port(), old));
  }
  {  // no_application_protocol: ALPN with neither h2 nor http/1.1
    TlsClientOptions other_protocol = trusting("www.example.com");
    other_protocol.alpn = {"spdy/3.1"};
    TlsClient client;
    EXPECT_FALSE(client.connect(port(), other_protocol));
  }
  {  // plain_http: answered 400, closed
    HttpClient plain;
    ASSERT_NO_FATAL_FAILURE(connect(&plain));
    ASSERT_TRUE(plain.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(plain.waitForPeerClose(milliseconds(5000)));
  }
  {  // not_tls: another protocol's greeting
    HttpClient ssh;
    ASSERT_NO_FATAL_FAILURE(connect(&ssh));
    ASSERT_TRUE(ssh.sendRaw("SSH-2.0-OpenSSH_9.2\r\n"));
    EXPECT_TRUE(ssh.waitForPeerClose(milliseconds(5000)));
  }
  {  // timeout: a client that says nothing is cut by header_timeout (500 ms)
    HttpClient silent;
    ASSERT_NO_FATAL_FAILURE(connect(&silent));
    EXPECT_TRUE(silent.waitForPeerClose(milliseconds(5000)));
  }

  expectEventually(*admin_port, "switchyard_tls_handshakes_total",
                   {{"ok", 3},
                    {"protocol_version", 1},
                    {"no_application_protocol", 1},
                    {"plain_http", 1},
                    {"not_tls", 1},
                    {"timeout", 1},
                    {"no_shared_cipher", 0},
                    {"unrecognized_name", 0},
                    {"closed", 0},
                    {"other", 0}},
                   "result");
  expectEventually(*admin_port, "switchyard_tls_protocol_total", {{"TLSv1.3", 2}, {"TLSv1.2", 1}},
                   "version");
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value("switchyard_tls_resumed_total", {{"listener", "https"}}), 1);
  EXPECT_EQ(metrics->types().at("switchyard_tls_handshakes_total"), "counter");
}

TEST_F(TlsMetricsTest, CertificateExpiryFollowsTheLoadedCertificates) {
  // A certificate of its own, rewritten below.
  auto site = certificates_->issue("expiry", KeyType::kEcdsa, {"site.test"}, 100);
  ASSERT_TRUE(site.ok()) << site.status();
  const std::string toml = absl::StrCat(
      "[[listeners]]\nname = \"https\"\nlisten = \"127.0.0.1:0\"\ntls = { certificates = [ ",
      certificateEntry(*site), ", ", certificateEntry(rsa_), " ] }\n\n",
      "[[pools]]\nname = \"app\"\nbackends = ", backendList({backendPort(0)}),
      "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(toml));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  const int64_t site_expiry = certificateNotAfter(site->cert);
  const int64_t rsa_expiry = certificateNotAfter(rsa_.cert);
  ASSERT_GT(site_expiry, 0);
  ASSERT_GT(rsa_expiry, site_expiry);  // 400 days against 100

  std::string raw;
  absl::StatusOr<Exposition> metrics = scrapeMetrics(*admin_port, &raw);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  const std::string gauge = "switchyard_tls_certificate_expiry_timestamp_seconds";
  EXPECT_EQ(metrics->types().at(gauge), "gauge");
  EXPECT_EQ(metrics->value(gauge, {{"listener", "https"}, {"name", "site.test"}}),
            static_cast<double>(site_expiry))
      << raw;
  EXPECT_EQ(metrics->value(
                gauge, {{"listener", "https"}, {"name", "www.example.com"}, {"key_type", "RSA"}}),
            static_cast<double>(rsa_expiry))
      << raw;

  // A renewed certificate (longer life) in the same files: the gauge follows the reload.
  ASSERT_TRUE(certificates_->issue("expiry", KeyType::kEcdsa, {"site.test"}, 300).ok());
  const int64_t renewed_expiry = certificateNotAfter(site->cert);
  ASSERT_GT(renewed_expiry, site_expiry);
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(toml);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)["event"], "config_reloaded") << reloaded->dump();
  metrics = scrapeMetrics(*admin_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->value(gauge, {{"listener", "https"}, {"name", "site.test"}}),
            static_cast<double>(renewed_expiry));
  // The exposition stays valid for Prometheus.
  if (!findPromtool().empty()) {
    EXPECT_TRUE(promtoolCheckMetrics(raw).ok());
  }
}

}  // namespace
}  // namespace sy::testing
