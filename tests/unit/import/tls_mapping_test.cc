// `listen ... ssl`, ssl_* and http2 in an nginx configuration -> a listener's tls table and http2
// key (import/tls_settings.h), loaded by Switchyard's own configuration loader.

#include <string>

#include "gtest/gtest.h"
#include "tests/unit/import/import_test_util.h"

namespace sy::importer {
namespace {

const routing::config::ListenerConfig* tlsMappingListener(const ImportedText& imported,
                                                          std::string_view listen) {
  for (const auto& listener : imported.config->listeners) {
    if (listener.listen_text == listen) return &listener;
  }
  return nullptr;
}

TEST(TlsMappingTest, SslListenerGetsItsCertificatesAndKeepsNginxHttp2Choice) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8443 ssl;
    listen 127.0.0.1:8444 ssl http2;
    listen 127.0.0.1:8080;
    ssl_certificate certs/site.pem;
    ssl_certificate_key /etc/nginx/site.key;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  const auto* plain_ssl = tlsMappingListener(imported, "127.0.0.1:8443");
  const auto* h2_ssl = tlsMappingListener(imported, "127.0.0.1:8444");
  const auto* plain = tlsMappingListener(imported, "127.0.0.1:8080");
  ASSERT_NE(plain_ssl, nullptr);
  ASSERT_NE(h2_ssl, nullptr);
  ASSERT_NE(plain, nullptr);
  ASSERT_TRUE(plain_ssl->tls.has_value()) << imported.result.toml;
  ASSERT_EQ(plain_ssl->tls->certificates.size(), 1u);
  // nginx reads a relative path from its configuration's folder: the import writes it in full.
  const std::string cert = plain_ssl->tls->certificates[0].cert;
  EXPECT_EQ(cert.front(), '/') << cert;
  EXPECT_TRUE(cert.ends_with("/certs/site.pem")) << cert;
  EXPECT_EQ(plain_ssl->tls->certificates[0].key, "/etc/nginx/site.key");
  // nginx serves h2 only where asked: the import says so, although Switchyard's default with
  // tls is on.
  EXPECT_FALSE(plain_ssl->http2);
  EXPECT_TRUE(h2_ssl->http2);
  EXPECT_TRUE(h2_ssl->tls.has_value());
  EXPECT_FALSE(plain->tls.has_value());
  EXPECT_FALSE(plain->http2);
  EXPECT_TRUE(imported.result.warnings.empty()) << imported.result.warnings_text;
}

TEST(TlsMappingTest, ServersSharingAnAddressServeAllTheirCertificates) {
  ImportedText imported = importText(R"(http {
  ssl_certificate /etc/nginx/default.pem;
  ssl_certificate_key /etc/nginx/default.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:8443 ssl;
    server_name a.example.com;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
  server {
    listen 127.0.0.1:8443 ssl;
    server_name b.example.com;
    ssl_certificate /etc/nginx/b-rsa.pem;
    ssl_certificate_key /etc/nginx/b-rsa.key;
    ssl_certificate /etc/nginx/b-ecdsa.pem;
    ssl_certificate_key /etc/nginx/b-ecdsa.key;
    location / { proxy_pass http://127.0.0.1:9001; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.config->listeners.size(), 1u);
  const auto& tls = imported.config->listeners[0].tls;
  ASSERT_TRUE(tls.has_value()) << imported.result.toml;
  // The second server's own lines replace the http block's, as in nginx.
  ASSERT_EQ(tls->certificates.size(), 3u) << imported.result.toml;
  EXPECT_EQ(tls->certificates[0].cert, "/etc/nginx/default.pem");
  EXPECT_EQ(tls->certificates[1].cert, "/etc/nginx/b-rsa.pem");
  EXPECT_EQ(tls->certificates[1].key, "/etc/nginx/b-rsa.key");
  EXPECT_EQ(tls->certificates[2].key, "/etc/nginx/b-ecdsa.key");
  EXPECT_EQ(tls->min_version, tls::TlsVersion::k1_2);
}

TEST(TlsMappingTest, ProtocolsCiphersCurvesAndRejectHandshake) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8443 ssl default_server;
    ssl_reject_handshake on;
  }
  server {
    listen 127.0.0.1:8443 ssl;
    server_name www.example.com;
    ssl_certificate /etc/nginx/site.pem;
    ssl_certificate_key /etc/nginx/site.key;
    ssl_protocols TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:SSL:10m;
    ssl_stapling on;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.config->listeners.size(), 1u);
  const auto& tls = imported.config->listeners[0].tls;
  ASSERT_TRUE(tls.has_value()) << imported.result.toml;
  EXPECT_TRUE(tls->strict_sni);
  EXPECT_EQ(tls->min_version, tls::TlsVersion::k1_3);
  EXPECT_EQ(tls->ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(tls->curves, "X25519:prime256v1");
  EXPECT_TRUE(imported.warned(14, WarningKind::kIgnored, "server's cipher order"));
  EXPECT_TRUE(imported.warned(15, WarningKind::kIgnored, "tickets"));
  EXPECT_TRUE(imported.warned(16, WarningKind::kUnsupported, "OCSP stapling"));
}

TEST(TlsMappingTest, WhatCannotBeCarriedIsWarned) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8443 ssl;
    listen 127.0.0.1:8444 quic;
    ssl_certificate $ssl_server_name.pem;
    ssl_certificate /etc/nginx/site.pem;
    ssl_certificate_key /etc/nginx/site.key;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    location / {
      ssl_verify_client on;
      proxy_pass http://127.0.0.1:9000;
    }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "QUIC"));
  EXPECT_TRUE(imported.warned(5, WarningKind::kUnsupported, "files named in full"));
  EXPECT_TRUE(imported.warned(8, WarningKind::kApproximated, "TLS 1.2 and 1.3 only"));
  EXPECT_TRUE(imported.warned(10, WarningKind::kUnsupported, "http or server block"));
  const auto* listener = tlsMappingListener(imported, "127.0.0.1:8443");
  ASSERT_NE(listener, nullptr);
  ASSERT_TRUE(listener->tls.has_value());
  ASSERT_EQ(listener->tls->certificates.size(), 1u) << imported.result.toml;
  EXPECT_EQ(listener->tls->certificates[0].cert, "/etc/nginx/site.pem");
}

TEST(TlsMappingTest, PlainHttp2IsH2cWithPriorKnowledge) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8080;
    http2 on;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.config->listeners.size(), 1u);
  EXPECT_TRUE(imported.config->listeners[0].http2);
  EXPECT_FALSE(imported.config->listeners[0].tls.has_value());
  EXPECT_TRUE(imported.result.warnings.empty()) << imported.result.warnings_text;
}

}  // namespace
}  // namespace sy::importer
