// Request shaping end to end (issue 15): a route's request_headers and response_headers as the
// demo backend's /echo and the client see them, strip_prefix/add_prefix/rewrite as the backend
// receives the target (query kept, the access log keeping the original), and routes that answer
// themselves with redirect or respond, needing no pool.

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/shaping_config.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RequestShapingTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(shapingConfig(R"([server]
workers = 1

[access_log]
path = "-"

[[listeners]]
name = "http"
listen = "127.0.0.1:0"
)",
                                                         backendPort(0))));
  }

  std::optional<Response> get(const std::string& target, const Headers& headers = {}) {
    HttpClient client;
    if (!client.connect(port())) {
      ADD_FAILURE() << client.lastError();
      return std::nullopt;
    }
    Headers all = {{"Host", "app.example:8080"}};
    all.insert(all.end(), headers.begin(), headers.end());
    std::optional<Response> response = client.request("GET", target, all);
    EXPECT_TRUE(response.has_value()) << target << ": " << client.lastError();
    return response;
  }

  nlohmann::json echoOf(const std::string& target, const Headers& headers = {}) {
    std::optional<Response> response = get(target, headers);
    if (!response.has_value()) return {};
    EXPECT_EQ(response->status, 200) << target << ": " << response->body;
    std::optional<nlohmann::json> json = parseJson(response->body);
    EXPECT_TRUE(json.has_value()) << response->body;
    return json.value_or(nlohmann::json());
  }

  // The values of header `name` in a response, in order.
  static std::vector<std::string> all(const Response& response, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [header, value] : response.headers) {
      if (absl::EqualsIgnoreCase(header, core::toAbsl(name))) out.push_back(value);
    }
    return out;
  }
};

TEST_F(RequestShapingTest, RequestHeadersSetAddRemoveWithVariables) {
  const nlohmann::json json = echoOf("/echo?q=1", {{"X-Env", "dev"},
                                                   {"X-Env", "dev2"},
                                                   {"X-Debug", "1"},
                                                   {"x-debug", "2"},
                                                   {"X-Multi", "sent"},
                                                   {"X-Request-ID", "rid-7"},
                                                   {"X-Forwarded-Proto", "gopher"}});
  EXPECT_THAT(echoedHeader(json, "X-Env"), ElementsAre("prod"));
  EXPECT_THAT(echoedHeader(json, "X-Debug"), IsEmpty());
  EXPECT_THAT(echoedHeader(json, "X-Multi"), ElementsAre("sent", "added"));
  EXPECT_THAT(echoedHeader(json, "X-Seen"),
              ElementsAre("127.0.0.1 http app.example /echo?q=1 headers app [rid-7]"));
  // set replaces the proxy's own forwarding header; remove drops it.
  EXPECT_THAT(echoedHeader(json, "X-Forwarded-Proto"), ElementsAre("https"));
  EXPECT_THAT(echoedHeader(json, "X-Real-IP"), IsEmpty());
  EXPECT_THAT(echoedHeader(json, "X-Forwarded-For"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(echoedHeader(json, "Host"), ElementsAre("app.example:8080"));
}

TEST_F(RequestShapingTest, RequestIdIsEmptyWithoutTheHeader) {
  const nlohmann::json json = echoOf("/echo");
  EXPECT_THAT(echoedHeader(json, "X-Seen"),
              ElementsAre("127.0.0.1 http app.example /echo headers app []"));
}

TEST_F(RequestShapingTest, ResponseHeadersSetAddRemove) {
  std::optional<Response> response = get("/echo");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(all(*response, "X-Served-By"),
              ElementsAre(absl::StrCat("127.0.0.1:", backendPort(0))));
  EXPECT_THAT(all(*response, "Content-Type"), ElementsAre("text/x-test"));
  EXPECT_THAT(all(*response, "X-Route"), ElementsAre("headers/app"));
  EXPECT_THAT(all(*response, "X-Backend"), IsEmpty());
  EXPECT_TRUE(parseJson(response->body).has_value()) << "the body is untouched";
}

TEST_F(RequestShapingTest, RoutesWithoutShapingAreUntouched) {
  std::optional<Response> response = get("/api/echo");
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(all(*response, "X-Backend"), ElementsAre("blue"));
  EXPECT_THAT(all(*response, "X-Served-By"), IsEmpty());
}

TEST_F(RequestShapingTest, StripPrefixKeepsTheQueryAndLogsTheOriginalTarget) {
  const nlohmann::json json = echoOf("/api/echo?x=1&y=2");
  EXPECT_EQ(json["path"], "/echo?x=1&y=2");
  EXPECT_THAT(echoedHeader(json, "X-Env"), IsEmpty()) << "another route's headers";
  const std::optional<std::string> line = proxy_.process->waitForLine(
      [](const std::string& text) {
        const std::optional<nlohmann::json> event = parseJsonLogLine(text);
        return event.has_value() && event->value("route", "") == "api";
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value()) << "no access log line for the api route";
  EXPECT_EQ((*parseJsonLogLine(*line))["path"], "/api/echo?x=1&y=2");
}

TEST_F(RequestShapingTest, StripThenAddPrefix) {
  // /ver/204 -> /204 -> /status/204, which the demo backend answers with that status.
  std::optional<Response> response = get("/ver/204?z");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->header("X-Backend"), "blue");
}

TEST_F(RequestShapingTest, RewriteWithCaptures) {
  const nlohmann::json json = echoOf("/old/anything/echo?k=v");
  EXPECT_EQ(json["path"], "/echo?k=v");
}

TEST_F(RequestShapingTest, RedirectWithVariablesKeepsTheQuery) {
  std::optional<Response> response = get("/moved/a/b?c=d");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 308);
  EXPECT_EQ(response->header("Location"), "http://new.example/moved/a/b?c=d");
  EXPECT_EQ(response->header("X-Moved-By"), "moved");
  EXPECT_EQ(response->header("Content-Length"), "0");
  EXPECT_TRUE(response->keep_alive);

  response = get("/tmp/x");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->header("Location"), "https://app.example/elsewhere?from=/tmp/x");
}

TEST_F(RequestShapingTest, RespondAnswersWithTheConfiguredBody) {
  std::optional<Response> response = get("/down/anything");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "back soon\n");
  EXPECT_EQ(response->header("Content-Type"), "text/plain");
  EXPECT_EQ(response->header("X-Backend"), std::nullopt);

  response = get("/gone");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 410);
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(stats(0).requests, 0u) << "answered without the backend";
}

TEST_F(RequestShapingTest, RoutesThatAnswerThemselvesHaveNoPoolToSwitch) {
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  const AdminResult refused = adminCall(*admin_port, "POST", "/admin/switch?to=app&route=moved");
  EXPECT_EQ(refused.status, 409) << refused.text();
  EXPECT_NE(refused.text().find("answers itself"), std::string::npos) << refused.text();
  const AdminResult status = adminCall(*admin_port, "GET", "/admin/status");
  EXPECT_EQ(status.status, 200) << status.text();
  // Requests still flow on the routes that forward.
  EXPECT_EQ(echoOf("/api/echo")["path"], "/echo");
}

// Runs `switchyard --check -c FILE`; returns its exit code and stores its output.
std::optional<int> shapingCheckFile(const std::string& path, std::string* output) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> check =
      ChildProcess::start({SY_BINARY_PATH, "--check", "-c", path});
  if (!check.ok()) {
    *output = std::string(check.status().message());
    return std::nullopt;
  }
  const std::optional<int> code = (*check)->waitExit(std::chrono::seconds(10));
  (*check)->waitForLine([](const std::string&) { return false; }, std::chrono::milliseconds(2000));
  *output = (*check)->output();
  return code;
}

TEST(RequestShapingCheckTest, ExampleSiteLoadsAndForbiddenHeadersAreRefused) {
  std::string output;
  EXPECT_EQ(shapingCheckFile(std::string(SY_SOURCE_DIR) + "/conf/site.toml", &output),
            std::optional<int>(0))
      << output;
  TempDir dir;
  const std::string bad = dir.writeFile("bad.toml", R"([[listeners]]
listen = "127.0.0.1:8080"
[[pools]]
name = "app"
backends = ["127.0.0.1:8081"]
[[routes]]
name = "api"
pool = "app"
request_headers = { set = { "Transfer-Encoding" = "chunked", "X-A" = "{nope}" } }
[[routes]]
name = "moved"
pool = "app"
redirect = { location = "/x" }
)");
  const std::optional<int> code = shapingCheckFile(bad, &output);
  ASSERT_TRUE(code.has_value()) << output;
  EXPECT_NE(*code, 0) << output;
  EXPECT_NE(output.find("routes[0].request_headers.set.Transfer-Encoding: route \"api\": "
                        "Transfer-Encoding cannot be set"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("unknown variable {nope}"), std::string::npos) << output;
  EXPECT_NE(output.find("route \"moved\": expected exactly one of pool, redirect or respond"),
            std::string::npos)
      << output;
}

}  // namespace
}  // namespace sy::testing
