// split_clients -> canary, map -> rules, mirror -> [routes.mirror], access_log -> [access_log],
// and the command's exit statuses.

#include "tests/unit/import/import_test_util.h"

namespace sy::importer {
namespace {

using routing::config::HashKeyConfig;
using routing::config::MatchRuleConfig;

constexpr const char* kTwoUpstreams = R"(
  upstream blue { server 127.0.0.1:8081; }
  upstream green { server 127.0.0.1:8082; }
)";

TEST(TrafficMappingTest, SplitClientsIsACanaryWithItsHashedVariableAsStickyKey) {
  ImportedText imported = importText(std::string("http {") + kTwoUpstreams + R"(
  split_clients "${cookie_session}v1" $variant {
    10%  green;
    *    blue;
  }
  server { location / { proxy_pass http://$variant; } }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.result.status, kImportClean) << imported.result.warnings_text;
  const auto* route = imported.route("default");
  EXPECT_EQ(route->pool, "blue");
  ASSERT_TRUE(route->canary);
  EXPECT_EQ(route->canary->pool, "green");
  EXPECT_DOUBLE_EQ(route->canary->weight, 10);
  ASSERT_TRUE(route->sticky);
  EXPECT_EQ(route->sticky->source, HashKeyConfig::Source::kCookie);
  EXPECT_EQ(route->sticky->name, "session");
}

TEST(TrafficMappingTest, SplitClientsOnRemoteAddrAndThreeBuckets) {
  ImportedText imported = importText(std::string("http {") + kTwoUpstreams + R"(
  upstream red { server 127.0.0.1:8083; }
  split_clients "${remote_addr}AAA" $variant {
    0.5% red;
    49.5% green;
    * blue;
  }
  server { location / { proxy_pass http://$variant; } }
})");
  SY_ASSERT_IMPORTED(imported);
  const auto* route = imported.route("default");
  EXPECT_EQ(route->pool, "blue");
  EXPECT_EQ(route->canary->pool, "green");
  EXPECT_DOUBLE_EQ(route->canary->weight, 49.5);
  EXPECT_EQ(route->sticky->source, HashKeyConfig::Source::kClientIp);
  EXPECT_TRUE(imported.warned(7, WarningKind::kUnsupported, "one canary"));
}

TEST(TrafficMappingTest, MapOnAHeaderOrCookieUsedInProxyPassIsRules) {
  ImportedText imported = importText(std::string("http {") + kTwoUpstreams + R"(
  map $http_x_version $by_header {
    default blue;
    canary  green;
    ~^beta  green;
    ~*^BETA green;
  }
  map $cookie_segment $by_cookie { default blue; vip green; }
  server {
    location /api/ { proxy_pass http://$by_header; }
    location / { proxy_pass http://$by_cookie; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  const auto* api = imported.route("default-api");
  EXPECT_EQ(api->pool, "blue");
  ASSERT_EQ(api->rules.size(), 2u);
  EXPECT_EQ(api->rules[0].source, MatchRuleConfig::Source::kHeader);
  EXPECT_EQ(api->rules[0].name, "x-version");
  EXPECT_EQ(api->rules[0].op, MatchRuleConfig::Op::kEquals);
  EXPECT_EQ(api->rules[0].value, "canary");
  EXPECT_EQ(api->rules[0].pool, "green");
  EXPECT_EQ(api->rules[1].op, MatchRuleConfig::Op::kPrefix);
  EXPECT_EQ(api->rules[1].value, "beta");
  EXPECT_TRUE(imported.warned(9, WarningKind::kUnsupported, "~^literal"));
  const auto* web = imported.route("default");
  ASSERT_EQ(web->rules.size(), 1u);
  EXPECT_EQ(web->rules[0].source, MatchRuleConfig::Source::kCookie);
  EXPECT_EQ(web->rules[0].name, "segment");
}

TEST(TrafficMappingTest, ProxyPassToAnUnknownVariableIsWarned) {
  ImportedText imported = importText(R"(http {
  map $request_method $m { default 127.0.0.1:8081; }
  server {
    location /x/ { proxy_pass http://$m; }
    location / { proxy_pass http://127.0.0.1:8082; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "$m is not set"));
  EXPECT_EQ(imported.config->routes.size(), 1u);
}

TEST(TrafficMappingTest, MapValueThatIsAVariableIsWarned) {
  ImportedText imported = importText(R"(http {
  map $http_x_pool $p { default $upstream_choice; a 127.0.0.1:8081; }
  server {
    location /x/ { proxy_pass http://$p; }
    location / { proxy_pass http://127.0.0.1:8082; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(
      imported.warned(4, WarningKind::kUnsupported, "cannot proxy to \"$upstream_choice\""));
  EXPECT_EQ(imported.config->routes.size(), 1u);
}

TEST(TrafficMappingTest, MirrorWithItsInternalLocation) {
  ImportedText imported = importText(R"(http {
  upstream production { server 127.0.0.1:8081; }
  upstream shadow { server 127.0.0.1:8083; }
  server {
    location / {
      proxy_pass http://production;
      mirror /mirror;
      mirror_request_body off;
    }
    location = /mirror {
      internal;
      proxy_pass http://shadow$request_uri;
    }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.config->routes.size(), 1u);  // the internal location is no route
  const auto& mirror = imported.config->routes[0].mirror;
  ASSERT_TRUE(mirror);
  EXPECT_EQ(mirror->pool, "shadow");
  EXPECT_DOUBLE_EQ(mirror->percent, 100);
  EXPECT_EQ(mirror->max_body_bytes, 0u);
  EXPECT_TRUE(imported.warned(8, WarningKind::kApproximated, "max_body_bytes = 0"));
  ASSERT_EQ(imported.result.warnings.size(), 1u) << imported.result.warnings_text;
}

TEST(TrafficMappingTest, AccessLogJsonIsCarriedOtherFormatsApproximated) {
  ImportedText json = importText(R"(http {
  log_format js escape=json '{"uri":"$request_uri"}';
  access_log /tmp/sy-access.log js;
  server { location / { proxy_pass http://127.0.0.1:8081; } }
})");
  SY_ASSERT_IMPORTED(json);
  EXPECT_EQ(json.result.status, kImportClean) << json.result.warnings_text;
  ASSERT_TRUE(json.config->access_log);
  EXPECT_EQ(json.config->access_log->path, "/tmp/sy-access.log");

  ImportedText combined = importText(R"(http {
  access_log /tmp/sy-access.log;
  server { location / { proxy_pass http://127.0.0.1:8081; } }
})");
  SY_ASSERT_IMPORTED(combined);
  EXPECT_TRUE(combined.warned(2, WarningKind::kApproximated, "not the format \"combined\""));
}

TEST(TrafficMappingTest, ExitStatuses) {
  ImportedText clean =
      importText("http { server { location / { proxy_pass http://127.0.0.1:1; } } }");
  EXPECT_EQ(clean.result.status, kImportClean);
  ImportedText warned = importText(
      "worker_processes auto;\nhttp { server { location / { proxy_pass http://127.0.0.1:1; } } }");
  EXPECT_EQ(warned.result.status, kImportWithWarnings);
  EXPECT_TRUE(warned.warned(1, WarningKind::kIgnored, "workers"));
  ImportedText broken = importText("http {\n  server {\n    listen 80\n  }\n}\n");
  EXPECT_EQ(broken.result.status, kImportFailed);
  EXPECT_NE(broken.result.error.find("nginx.conf:4:3: "), std::string::npos) << broken.result.error;
  ImportedText empty = importText("http { server { root /srv; } }");
  EXPECT_EQ(empty.result.status, kImportFailed);
  EXPECT_NE(empty.result.error.find("nothing to import"), std::string::npos);
}

TEST(TrafficMappingTest, AFileOfTheHttpContextOnItsOwn) {
  ImportedText imported = importText(
      "upstream app { server 127.0.0.1:8081; }\n"
      "server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.result.status, kImportClean);
  EXPECT_EQ(imported.route("default")->pool, "app");
}

}  // namespace
}  // namespace sy::importer
