// Routing: routes by exact host, suffix wildcard and path prefix, first match wins, and a
// request no route matches is answered 404 by the proxy itself.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

class ProxyRoutingTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(R"([server]
workers = 1

[[listeners]]
name = "http"
listen = "127.0.0.1:0"

[[pools]]
name = "blue"
backends = )",
                                                        backendList({backendPort(0)}), R"(

[[pools]]
name = "green"
backends = )",
                                                        backendList({backendPort(1)}), R"(

# Specific before general: the first match wins.
[[routes]]
name = "api-v1"
hosts = ["api.example.com"]
path_prefix = "/api/"
pool = "green"

[[routes]]
name = "api-rest"
hosts = ["api.example.com"]
pool = "blue"

[[routes]]
name = "green-sites"
hosts = ["*.green.example"]
pool = "green"

[[routes]]
name = "blue-sites"
hosts = ["blue.example", "*.blue.example"]
pool = "blue"

[[routes]]
name = "static"
path_prefix = "/static/"
pool = "green"
)")));
  }

  // The backend that answered `target` with `host`, "404" for the proxy's own 404, or an error.
  std::string routeOf(HttpClient& client, const std::string& host, const std::string& target) {
    std::optional<Response> response = client.request("GET", target, {{"Host", host}});
    if (!response.has_value()) return "error: " + client.lastError();
    if (response->status == 404 && response->header("Server") == "switchyard") return "404";
    return response->header("X-Backend").value_or("status " + std::to_string(response->status));
  }
};

TEST_F(ProxyRoutingTest, RoutesByHostAndPathPrefix) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  // Exact host with a path prefix, then the same host's catch-all route.
  EXPECT_EQ(routeOf(client, "api.example.com", "/api/users"), "green");
  EXPECT_EQ(routeOf(client, "api.example.com", "/api"), "blue");  // "/api/" is the prefix
  EXPECT_EQ(routeOf(client, "api.example.com", "/other"), "blue");
  // Host comparison ignores case, the port and a trailing dot.
  EXPECT_EQ(routeOf(client, "API.Example.COM:8080", "/api/x"), "green");
  EXPECT_EQ(routeOf(client, "api.example.com.", "/api/x"), "green");
  // Suffix wildcards match any depth of subdomain, not the apex.
  EXPECT_EQ(routeOf(client, "www.green.example", "/"), "green");
  EXPECT_EQ(routeOf(client, "a.b.green.example", "/"), "green");
  EXPECT_EQ(routeOf(client, "blue.example", "/"), "blue");
  EXPECT_EQ(routeOf(client, "shop.blue.example", "/"), "blue");
  // Path-only route for any host; the query string is not part of the path.
  EXPECT_EQ(routeOf(client, "unknown.example", "/static/app.css?v=3"), "green");
  EXPECT_EQ(routeOf(client, "unknown.example", "/static"), "404");
}

TEST_F(ProxyRoutingTest, AbsoluteFormTargetRoutesOnItsPath) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  EXPECT_EQ(routeOf(client, "api.example.com", "http://api.example.com/api/v1"), "green");
  EXPECT_EQ(routeOf(client, "api.example.com", "http://api.example.com/home"), "blue");
}

TEST_F(ProxyRoutingTest, UnknownHostGetsTheProxys404) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  std::optional<Response> response = client.request("GET", "/", {{"Host", "green.example"}});
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->header("Server"), "switchyard");
  EXPECT_FALSE(response->header("X-Backend").has_value());
  EXPECT_LT(response->body.size(), 200u);
  // A 404 for a complete request does not cost the connection.
  EXPECT_TRUE(response->keep_alive);
  EXPECT_EQ(routeOf(client, "nowhere.example", "/"), "404");
  EXPECT_EQ(routeOf(client, "blue.example", "/"), "blue");
  // A 404 for a request with a body to come is answered at once, and the connection closed
  // rather than the body read.
  HttpClient upload;
  ASSERT_NO_FATAL_FAILURE(connect(&upload));
  ASSERT_TRUE(upload.sendRaw(
      "POST / HTTP/1.1\r\nHost: nowhere.example\r\nContent-Length: 1000000\r\n\r\npartial"));
  std::optional<Response> refused = upload.readResponse();
  ASSERT_TRUE(refused.has_value()) << upload.lastError();
  EXPECT_EQ(refused->status, 404);
  EXPECT_EQ(refused->header("Connection"), "close");
  EXPECT_TRUE(upload.waitForPeerClose(std::chrono::milliseconds(3000))) << upload.lastError();

  EXPECT_EQ(stats(0).requests + stats(1).requests, 1u);
}

// An absolute-form target names its own host (RFC 9112 §3.2.2: a server MUST then ignore Host),
// and servers such as nginx select their virtual host from it. The proxy routes on the Host
// header but forwards the absolute target unchanged, so "GET http://internal.example/ HTTP/1.1"
// with "Host: public.example" passes the route of public.example and can then be served as
// internal.example by a backend that hosts both: the route's host restriction is bypassed.
// Whatever the fix (route on the target's authority, or forward origin-form with a matching
// Host, or refuse the mismatch with 400), the backend must never see a request whose host
// differs from the one the route was chosen for.
// DISABLED: bug in the proxy, not fixed here (routing and the exchange are being changed on
// main); see the report.
class ProxyAbsoluteFormTest : public ProxyTest {};

TEST_F(ProxyAbsoluteFormTest, BackendSeesTheHostTheRouteWasChosenFor) {
  ASSERT_NO_FATAL_FAILURE(startBackend("public"));
  ASSERT_NO_FATAL_FAILURE(startBackend("internal"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n[[pools]]\nname = \"public\"\n",
      "backends = ", backendList({backendPort(0)}), "\n\n[[pools]]\nname = \"internal\"\n",
      "backends = ", backendList({backendPort(1)}),
      "\n\n[[routes]]\nname = \"public\"\nhosts = [\"public.example\"]\npool = \"public\"\n",
      "\n[[routes]]\nname = \"internal\"\nhosts = [\"internal.example\"]\npool = \"internal\"\n")));
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(
      client.sendRaw("GET http://internal.example/echo HTTP/1.1\r\nHost: public.example\r\n\r\n"));
  std::optional<Response> response = client.readResponse();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  if (response->status == 400) return;  // refusing the mismatch is fine
  ASSERT_EQ(response->status, 200) << response->body;
  const std::optional<nlohmann::json> echo = parseJson(response->body);
  ASSERT_TRUE(echo.has_value()) << response->body;
  const std::string backend = (*echo)["backend"];
  const std::string target = (*echo)["path"];
  const std::vector<std::string> hosts = echoedHeader(*echo, "Host");
  ASSERT_EQ(hosts.size(), 1u) << response->body;
  // The host the backend will act on: the target's authority if it is absolute, else Host.
  std::string effective_host = hosts[0];
  if (target.rfind("http://", 0) == 0) {
    effective_host = target.substr(7, target.find('/', 7) - 7);
  }
  EXPECT_EQ(effective_host, backend + ".example")
      << "routed to " << backend << " but the backend sees " << target << " with Host " << hosts[0];
}

}  // namespace
}  // namespace sy::testing
