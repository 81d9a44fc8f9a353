// listeners.tls: the keys, their defaults, and one clear error per mistake. (Whether the files
// hold usable certificates is checked when the listener's contexts are built: tls_listener_test.)

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using testing_util::IsError;

TEST(TlsConfigTest, ListenerWithoutTlsIsPlain) {
  const LoadResult result = testing_util::parseListeners(R"(
[[listeners]]
listen = "127.0.0.1:8080"
)");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  EXPECT_FALSE(result.config->listeners[0].tls.has_value());
  EXPECT_FALSE(result.config->listeners[0].http2);  // h2c only when asked for
}

TEST(TlsConfigTest, CertificatesAndDefaults) {
  const LoadResult result = testing_util::parseListeners(R"(
[[listeners]]
listen = "127.0.0.1:8443"
tls = { certificates = [ { cert = "/a.pem", key = "/a.key" }, { cert = "/b.pem", key = "/b.key" } ] }
)");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  const auto& tls = result.config->listeners[0].tls;
  ASSERT_TRUE(tls.has_value());
  ASSERT_EQ(tls->certificates.size(), 2u);
  EXPECT_EQ(tls->certificates[0].cert, "/a.pem");
  EXPECT_EQ(tls->certificates[1].key, "/b.key");
  EXPECT_EQ(tls->min_version, tls::TlsVersion::k1_2);
  EXPECT_EQ(tls->ciphers, tls::kIntermediateCiphers);
  EXPECT_EQ(tls->ciphersuites, tls::kIntermediateCiphersuites);
  EXPECT_EQ(tls->curves, tls::kIntermediateCurves);
  EXPECT_FALSE(tls->strict_sni);
  EXPECT_TRUE(result.config->listeners[0].http2);  // h2 in ALPN unless http2 = false
}

TEST(TlsConfigTest, Http2FollowsTlsUnlessSet) {
  const LoadResult result = testing_util::parseListeners(R"(
[[listeners]]
name = "off"
listen = "127.0.0.1:8443"
http2 = false
tls = { certificates = [ { cert = "/a.pem", key = "/a.key" } ] }
[[listeners]]
name = "h2c"
listen = "127.0.0.1:8080"
http2 = true
)");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  EXPECT_FALSE(result.config->listeners[0].http2);
  EXPECT_TRUE(result.config->listeners[1].http2);
}

TEST(TlsConfigTest, EveryKeyAsASubTable) {
  const LoadResult result = testing_util::parseListeners(R"(
[[listeners]]
listen = "127.0.0.1:8443"
[listeners.tls]
certificates = [ { cert = "/a.pem", key = "/a.key" } ]
min_version = "1.3"
ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"
ciphersuites = "TLS_AES_128_GCM_SHA256"
curves = "X25519"
strict_sni = true
)");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  const auto& tls = *result.config->listeners[0].tls;
  EXPECT_EQ(tls.min_version, tls::TlsVersion::k1_3);
  EXPECT_EQ(tls.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(tls.curves, "X25519");
  EXPECT_TRUE(tls.strict_sni);
}

TEST(TlsConfigTest, MistakesGiveOneErrorEach) {
  EXPECT_THAT(
      testing_util::parseWithMinimal("[listeners.tls]\nstrict_sni = true\n").errors,
      ::testing::ElementsAre(IsError(9, "listeners[0].tls.certificates", "a TLS listener needs")));
  EXPECT_THAT(testing_util::parseWithMinimal("[listeners.tls]\ncertificates = []\n").errors,
              ::testing::ElementsAre(IsError(10, "listeners[0].tls.certificates", "empty array")));
  EXPECT_THAT(
      testing_util::parseWithMinimal("[listeners.tls]\ncertificates = [ { cert = \"/a.pem\" } ]\n")
          .errors,
      ::testing::ElementsAre(IsError(10, "listeners[0].tls.certificates[0].key", "private key")));
  EXPECT_THAT(testing_util::parseWithMinimal("[listeners.tls]\ncertificates = [ { cert = "
                                             "\"/a.pem\", key = \"/a.key\" } ]\n"
                                             "min_version = \"1.1\"\n")
                  .errors,
              ::testing::ElementsAre(IsError(11, "listeners[0].tls.min_version", "1.2")));
  EXPECT_THAT(testing_util::parseWithMinimal("[listeners.tls]\ncertificates = [ { cert = "
                                             "\"/a.pem\", key = \"/a.key\" } ]\n"
                                             "sni_strict = true\n")
                  .errors,
              ::testing::ElementsAre(IsError(11, "listeners[0].tls.sni_strict", "strict_sni")));
}

TEST(TlsConfigTest, AdminTlsTakesTheListenerKeysAndClientCa) {
  const LoadResult result = testing_util::parseWithMinimal(R"(
[admin]
listen = "0.0.0.0:9901"
tls = { certificates = [ { cert = "/a.pem", key = "/a.key" } ], client_ca = "/ops-ca.pem", min_version = "1.3" }
)");
  // A client certificate is enough to bind beyond loopback without a token.
  ASSERT_TRUE(result.ok()) << result.errors.size();
  const auto& tls = result.config->admin.tls;
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(tls->certificates[0].cert, "/a.pem");
  EXPECT_EQ(tls->client_ca, "/ops-ca.pem");
  EXPECT_EQ(tls->min_version, tls::TlsVersion::k1_3);
  EXPECT_FALSE(testing_util::parseWithMinimal("").config->admin.tls.has_value());
}

TEST(TlsConfigTest, AdminTlsWithoutClientCaStillNeedsATokenBeyondLoopback) {
  EXPECT_THAT(testing_util::parseWithMinimal(
                  "[admin]\nlisten = \"0.0.0.0:9901\"\n"
                  "tls = { certificates = [ { cert = \"/a.pem\", key = \"/a.key\" } ] }\n")
                  .errors,
              ::testing::ElementsAre(IsError(10, "admin.listen", "tls.client_ca")));
  // client_ca is the admin API's: a listener does not take it.
  EXPECT_THAT(testing_util::parseWithMinimal("[listeners.tls]\ncertificates = [ { cert = "
                                             "\"/a.pem\", key = \"/a.key\" } ]\n"
                                             "client_ca = \"/ca.pem\"\n")
                  .errors,
              ::testing::ElementsAre(IsError(11, "listeners[0].tls.client_ca", "")));
}

TEST(TlsConfigTest, PoolTls) {
  const LoadResult result = testing_util::parseWithMinimal(R"(
[pools.tls]
sni = "api.internal"
ca = "/etc/ssl/internal-ca.pem"
)");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  const auto& tls = result.config->pools[0].tls;
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(tls->sni, "api.internal");
  EXPECT_EQ(tls->ca, "/etc/ssl/internal-ca.pem");
  EXPECT_TRUE(tls->verify);  // on by default
  EXPECT_TRUE(tls->cert.empty());
}

TEST(TlsConfigTest, PoolTlsMistakes) {
  EXPECT_THAT(testing_util::parseWithMinimal("[pools.tls]\ncert = \"/c.pem\"\n").errors,
              ::testing::ElementsAre(IsError(9, "pools[0].tls.key", "go together")));
  EXPECT_THAT(testing_util::parseWithMinimal("[pools.tls]\nverify = \"no\"\n").errors,
              ::testing::ElementsAre(IsError(10, "pools[0].tls.verify", "expected true or false")));
}

TEST(TlsConfigTest, PoolTlsTakesHttpHealthChecks) {
  // HTTP checks of a TLS pool speak TLS with the pool's settings (health/probe.h).
  auto result =
      testing_util::parseWithMinimal("[pools.health_check]\npath = \"/h\"\n[pools.tls]\n");
  ASSERT_TRUE(result.ok()) << result.errors.size();
  EXPECT_TRUE(result.config->pools[0].tls.has_value());
  EXPECT_EQ(result.config->pools[0].health_check->path, "/h");
}

}  // namespace
}  // namespace sy::routing::config
