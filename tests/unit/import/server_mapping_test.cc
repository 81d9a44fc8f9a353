// server { listen; server_name; location ... } -> [[listeners]] and [[routes]].

#include "absl/time/time.h"
#include "tests/unit/import/import_test_util.h"

namespace sy::importer {
namespace {

std::vector<std::string> routeNames(const ImportedText& imported) {
  std::vector<std::string> names;
  for (const auto& route : imported.config->routes) names.push_back(route.name);
  return names;
}

TEST(ServerMappingTest, HostAndPathRoutingAcrossTwoServersInNginxOrder) {
  ImportedText imported = importText(R"(http {
  upstream web { server 127.0.0.1:8081; }
  upstream api { server 127.0.0.1:8082; }
  server {
    listen 127.0.0.1:8080 default_server;
    server_name www.example.com;
    location / { proxy_pass http://web; }
    location /static/ { proxy_pass http://127.0.0.1:8083; }
  }
  server {
    listen 127.0.0.1:8080;
    server_name api.example.com .api.example.org;
    location / { proxy_pass http://api; }
    location /v1/admin/ { proxy_pass http://web; }
    location /v1/ { proxy_pass http://api; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.result.status, kImportClean) << imported.result.warnings_text;
  ASSERT_EQ(imported.config->listeners.size(), 1u);
  EXPECT_EQ(imported.config->listeners[0].listen_text, "127.0.0.1:8080");
  // The named server first, longest prefix first; the default server last, for any host.
  EXPECT_EQ(
      routeNames(imported),
      (std::vector<std::string>{"api.example.com-v1-admin", "api.example.com-v1", "api.example.com",
                                "www.example.com-static", "www.example.com"}));
  const auto* api = imported.route("api.example.com");
  EXPECT_EQ(api->hosts,
            (std::vector<std::string>{"api.example.com", "api.example.org", "*.api.example.org"}));
  EXPECT_TRUE(imported.route("www.example.com")->hosts.empty());
  // A literal proxy_pass address is a pool of its own.
  EXPECT_EQ(imported.route("www.example.com-static")->pool, "127.0.0.1-8083");
  ASSERT_NE(imported.pool("127.0.0.1-8083"), nullptr);
}

TEST(ServerMappingTest, RepeatedServerNamesAreListedOnce) {
  ImportedText imported = importText(R"(http {
  server { server_name www.example.com; location / { proxy_pass http://127.0.0.1:9000; } }
  server {
    server_name example.com .example.com EXAMPLE.com;
    location / { proxy_pass http://127.0.0.1:9001; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.route("example.com")->hosts,
            (std::vector<std::string>{"example.com", "*.example.com"}));
}

TEST(ServerMappingTest, ListenBacklogAndKeepaliveHeaderTimeout) {
  ImportedText imported = importText(R"(http {
  keepalive_timeout 65 60;
  server {
    listen 127.0.0.1:8080 backlog=1024 reuseport;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.config->listeners[0].backlog, 1024u);
  EXPECT_EQ(imported.config->listeners[0].keepalive_timeout, absl::Seconds(65));
  EXPECT_TRUE(imported.warned(2, WarningKind::kUnsupported, "Keep-Alive"));
  EXPECT_TRUE(imported.warned(4, WarningKind::kIgnored, "reuseport"));
}

TEST(ServerMappingTest, ProxyPassToAnUpstreamThatWasLeftOut) {
  ImportedText imported = importText(R"(http {
  upstream sockets { server unix:/run/app.sock; }
  server {
    location /app/ { proxy_pass http://sockets; }
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "upstream sockets was left out"));
  EXPECT_EQ(imported.config->routes.size(), 1u);
  EXPECT_EQ(imported.config->pools.size(), 1u);
}

TEST(ServerMappingTest, ListenForms) {
  ImportedText imported = importText(R"(http {
  server {
    listen 8080;
    listen [::1]:8081;
    listen 127.0.0.1:8443 ssl http2;
    ssl_certificate /etc/cert.pem;
    ssl_certificate_key /etc/key.pem;
    location / { proxy_pass http://127.0.0.1:9000; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.config->listeners.size(), 3u);
  EXPECT_EQ(imported.config->listeners[0].listen_text, "0.0.0.0:8080");
  EXPECT_EQ(imported.config->listeners[1].listen_text, "[::1]:8081");
  EXPECT_EQ(imported.config->listeners[2].listen_text, "127.0.0.1:8443");
  // ssl and http2: tls_mapping_test.
  EXPECT_TRUE(imported.config->listeners[2].tls.has_value());
  EXPECT_TRUE(imported.config->listeners[2].http2);
  EXPECT_FALSE(imported.config->listeners[0].http2);
  EXPECT_TRUE(imported.result.warnings.empty()) << imported.result.warnings_text;
}

TEST(ServerMappingTest, ServerNamesThatDoNotMapAreWarned) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8080;
    server_name *.example.com ~^www\d+\.example\.net$ example.* "";
    location / { proxy_pass http://127.0.0.1:9000; }
  }
  server {
    listen 127.0.0.1:8080;
    server_name *.shop.example.com;
    location / { proxy_pass http://127.0.0.1:9001; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "regular expressions"));
  EXPECT_TRUE(imported.warned(4, WarningKind::kUnsupported, "trailing wildcards"));
  EXPECT_EQ(imported.route("shop.example.com")->hosts,
            (std::vector<std::string>{"*.shop.example.com"}));
}

TEST(ServerMappingTest, LocationKinds) {
  ImportedText imported = importText(R"(http {
  server {
    listen 127.0.0.1:8080;
    location / { proxy_pass http://127.0.0.1:9000; }
    location = /login { proxy_pass http://127.0.0.1:9001; }
    location ~ ^/api/v2/ { proxy_pass http://127.0.0.1:9002; }
    location ~* \.(png|jpg)$ { proxy_pass http://127.0.0.1:9003; }
    location ^~ /images/ { proxy_pass http://127.0.0.1:9004; }
    location @fallback { proxy_pass http://127.0.0.1:9005; }
    location /files/ { root /srv; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(routeNames(imported), (std::vector<std::string>{"default-login", "default-api-v2",
                                                            "default-images", "default"}));
  EXPECT_EQ(imported.route("default-api-v2")->path_prefix, "/api/v2/");
  EXPECT_TRUE(imported.warned(5, WarningKind::kApproximated, "no exact match"));
  EXPECT_TRUE(imported.warned(7, WarningKind::kUnsupported, "^/literal"));
  EXPECT_TRUE(imported.warned(9, WarningKind::kUnsupported, "named locations"));
  EXPECT_TRUE(imported.warned(10, WarningKind::kUnsupported, "no proxy_pass"));
}

TEST(ServerMappingTest, ProxyPassUriThatRewritesThePathIsApproximated) {
  ImportedText imported = importText(R"(http {
  upstream app { server 127.0.0.1:8081; }
  server {
    location /health { proxy_pass http://app/health; }
    location /old/ { proxy_pass http://app/new/; }
    location / { proxy_pass https://app; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_FALSE(imported.warned(4, WarningKind::kApproximated, "path"));
  EXPECT_TRUE(imported.warned(5, WarningKind::kApproximated, "no path rewriting"));
  EXPECT_TRUE(imported.warned(6, WarningKind::kApproximated, "TLS not yet supported"));
  // No listen: nginx's default port.
  EXPECT_EQ(imported.config->listeners[0].listen_text, "0.0.0.0:80");
}

TEST(ServerMappingTest, TimeoutsGoToThePoolAndKeepaliveToTheListener) {
  ImportedText imported = importText(R"(http {
  keepalive_timeout 65;
  proxy_connect_timeout 2s;
  upstream app { server 127.0.0.1:8081; }
  server {
    listen 127.0.0.1:8080;
    client_header_timeout 5s;
    location / {
      proxy_read_timeout 90s;
      proxy_send_timeout 2m;
      proxy_pass http://app;
    }
    location /slow/ {
      proxy_read_timeout 10m;
      proxy_pass http://app;
    }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  const auto& listener = imported.config->listeners[0];
  EXPECT_EQ(listener.keepalive_timeout, absl::Seconds(65));
  EXPECT_EQ(listener.header_timeout, absl::Seconds(5));
  const auto* pool = imported.pool("app");
  EXPECT_EQ(pool->connect_timeout, absl::Seconds(2));
  EXPECT_EQ(pool->response_timeout, absl::Seconds(90));
  EXPECT_EQ(pool->idle_timeout, absl::Minutes(2));
  // Timeouts are per pool: the second location's differ and are warned.
  EXPECT_TRUE(imported.warned(15, WarningKind::kApproximated, "per pool"));
}

TEST(ServerMappingTest, AStandbyPoolTakesTheHttpLevelTimeouts) {
  ImportedText imported = importText(R"(http {
  proxy_connect_timeout 2s;
  proxy_read_timeout 20s;
  upstream blue { server 127.0.0.1:8081; }
  upstream green { server 127.0.0.1:8082; }
  server { location / { proxy_read_timeout 30s; proxy_pass http://blue; } }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.pool("blue")->response_timeout, absl::Seconds(30));
  EXPECT_EQ(imported.pool("green")->connect_timeout, absl::Seconds(2));
  EXPECT_EQ(imported.pool("green")->response_timeout, absl::Seconds(20));
}

TEST(ServerMappingTest, NextUpstreamBecomesRetries) {
  ImportedText imported = importText(R"(http {
  upstream app { server 127.0.0.1:8081; server 127.0.0.1:8082; server 127.0.0.1:8083; }
  server {
    location /a/ { proxy_next_upstream error; proxy_next_upstream_tries 3; proxy_pass http://app; }
    location /b/ { proxy_next_upstream off; proxy_pass http://app; }
    location /c/ { proxy_next_upstream error timeout http_502; proxy_pass http://app; }
    location / { proxy_pass http://app; }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.route("default-a")->retries, 2u);
  EXPECT_EQ(imported.route("default-b")->retries, 0u);
  EXPECT_EQ(imported.route("default-c")->retries, 2u);  // nginx: every server once
  EXPECT_TRUE(imported.warned(6, WarningKind::kApproximated, "http_502"));
  EXPECT_FALSE(imported.warned(4, WarningKind::kApproximated, "retries"));
  EXPECT_EQ(imported.route("default")->retries, 2u);  // Switchyard's default
}

TEST(ServerMappingTest, ForwardingHeadersSwitchyardSetsAreCarriedOthersWarned) {
  ImportedText imported = importText(R"(http {
  server {
    location / {
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Tenant acme;
      client_max_body_size 10m;
      proxy_pass http://127.0.0.1:9000;
    }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  ASSERT_EQ(imported.result.warnings.size(), 2u) << imported.result.warnings_text;
  EXPECT_TRUE(imported.warned(10, WarningKind::kUnsupported, "header rewriting"));
  EXPECT_TRUE(imported.warned(11, WarningKind::kUnsupported, "body size"));
}

TEST(ServerMappingTest, ReturnRedirectIsWarned) {
  ImportedText imported = importText(R"(http {
  server { listen 127.0.0.1:8080; server_name a.example.com; return 301 https://$host$request_uri; }
  server { listen 127.0.0.1:8080; location / { proxy_pass http://127.0.0.1:9000; } }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_TRUE(imported.warned(2, WarningKind::kUnsupported, "redirects are not supported yet"));
  EXPECT_EQ(imported.config->routes.size(), 1u);
}

TEST(ServerMappingTest, AddHeaderUpstreamAddrIsPoolHeader) {
  ImportedText imported = importText(R"(http {
  server {
    location / {
      add_header X-Backend-Version $upstream_addr;
      add_header X-Frame-Options DENY;
      proxy_pass http://127.0.0.1:9000;
    }
  }
})");
  SY_ASSERT_IMPORTED(imported);
  EXPECT_EQ(imported.route("default")->pool_header, "X-Backend-Version");
  EXPECT_TRUE(imported.warned(4, WarningKind::kApproximated, "pool_header"));
  EXPECT_TRUE(imported.warned(5, WarningKind::kUnsupported, "header rewriting"));
}

}  // namespace
}  // namespace sy::importer
