// upstream { ... } -> [[pools]].

#include "absl/time/time.h"
#include "tests/unit/import/import_test_util.h"

namespace sy::importer {
namespace {

using routing::config::BalancerKind;
using routing::config::HashKeyConfig;

std::string withUpstream(const std::string& upstream_body) {
  return "http {\n  upstream app {\n" + upstream_body +
         "\n  }\n  server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n}\n";
}

TEST(UpstreamMappingTest, ServersWeightsAndKeepalive) {
  ImportedText imported = importText(withUpstream(
      "server 127.0.0.1:8081 weight=90;\nserver 127.0.0.1:8082 weight=10;\nserver 127.0.0.1;\n"
      "keepalive 32;\nkeepalive_timeout 4s;"));
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.result.status, kImportClean) << imported.result.warnings_text;
  const auto* pool = imported.pool("app");
  ASSERT_NE(pool, nullptr);
  ASSERT_EQ(pool->backends.size(), 3u);
  EXPECT_EQ(pool->backends[0].weight, 90u);
  EXPECT_EQ(pool->backends[1].weight, 10u);
  EXPECT_EQ(pool->backends[2].address_text, "127.0.0.1:80");  // nginx's default port
  EXPECT_EQ(pool->keepalive_max_idle, 32u);
  EXPECT_EQ(pool->keepalive_timeout, absl::Seconds(4));
  EXPECT_EQ(pool->balancer, BalancerKind::kRoundRobin);
}

TEST(UpstreamMappingTest, MaxFailsAndFailTimeoutArePassiveOutlierDetection) {
  ImportedText imported =
      importText(withUpstream("server 127.0.0.1:8081 max_fails=3 fail_timeout=30s;\n"
                              "server 127.0.0.1:8082 max_fails=3 fail_timeout=30s;"));
  SY_ASSERT_IMPORTED(imported);
  const auto& outlier = imported.pool("app")->outlier_detection;
  EXPECT_EQ(outlier.consecutive_failures, 3u);
  EXPECT_EQ(outlier.base_ejection_time, absl::Seconds(30));
  EXPECT_EQ(outlier.max_ejection_time, absl::Seconds(30));
  EXPECT_EQ(imported.result.status, kImportClean);
}

TEST(UpstreamMappingTest, DifferentFailureSettingsPerServerAreApproximated) {
  ImportedText imported = importText(
      withUpstream("server 127.0.0.1:8081 max_fails=2;\nserver 127.0.0.1:8082 max_fails=0;"));
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.pool("app")->outlier_detection.consecutive_failures, 2u);
  EXPECT_EQ(imported.pool("app")->outlier_detection.base_ejection_time, absl::Seconds(10));
  EXPECT_TRUE(imported.warned(4, WarningKind::kApproximated, "per pool"));
  EXPECT_EQ(imported.result.status, kImportWithWarnings);
}

TEST(UpstreamMappingTest, BackupAndDownServersAreLeftOutWithAWarning) {
  ImportedText imported = importText(withUpstream(
      "server 127.0.0.1:8081;\nserver 127.0.0.1:8082 backup;\nserver 127.0.0.1:8083 down;"));
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.pool("app")->backends.size(), 1u);
  EXPECT_TRUE(imported.warned(4, WarningKind::kApproximated, "no backup servers"));
  EXPECT_TRUE(imported.warned(5, WarningKind::kApproximated, "disable"));
}

TEST(UpstreamMappingTest, BalancingMethods) {
  ImportedText least = importText(withUpstream("least_conn;\nserver 127.0.0.1:8081;"));
  SY_ASSERT_IMPORTED(least);
  EXPECT_EQ(least.pool("app")->balancer, BalancerKind::kLeastRequest);
  EXPECT_EQ(least.result.status, kImportClean);

  ImportedText ip = importText(withUpstream("ip_hash;\nserver 127.0.0.1:8081;"));
  SY_ASSERT_IMPORTED(ip);
  EXPECT_EQ(ip.pool("app")->balancer, BalancerKind::kHash);
  EXPECT_EQ(ip.pool("app")->hash_key->source, HashKeyConfig::Source::kClientIp);
  EXPECT_TRUE(ip.warned(3, WarningKind::kApproximated, "three octets"));

  ImportedText cookie =
      importText(withUpstream("hash $cookie_session consistent;\nserver 127.0.0.1:8081;"));
  SY_ASSERT_IMPORTED(cookie);
  EXPECT_EQ(cookie.pool("app")->hash_key->text, "cookie:session");
  EXPECT_EQ(cookie.result.status, kImportClean);

  ImportedText header = importText(withUpstream("hash $http_x_user_id;\nserver 127.0.0.1:8081;"));
  SY_ASSERT_IMPORTED(header);
  EXPECT_EQ(header.pool("app")->hash_key->text, "header:x-user-id");
  EXPECT_TRUE(header.warned(3, WarningKind::kApproximated, "consistent"));

  ImportedText uri = importText(withUpstream("hash $request_uri;\nserver 127.0.0.1:8081;"));
  SY_ASSERT_IMPORTED(uri);
  EXPECT_EQ(uri.pool("app")->balancer, BalancerKind::kRoundRobin);
  EXPECT_TRUE(uri.warned(3, WarningKind::kUnsupported, "round_robin"));
}

TEST(UpstreamMappingTest, UnixSocketsAndUnknownParametersAreWarned) {
  ImportedText imported = importText(withUpstream(
      "server unix:/tmp/app.sock;\nserver 127.0.0.1:8081 max_conns=10 slow_start=30s;\n"
      "zone app 64k;"));
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.pool("app")->backends.size(), 1u);
  EXPECT_TRUE(imported.warned(3, WarningKind::kUnsupported, "unix"));
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "max_conns=10"));
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "slow_start=30s"));
  EXPECT_TRUE(imported.warned(5, WarningKind::kIgnored, "shared memory"));
}

}  // namespace
}  // namespace sy::importer
