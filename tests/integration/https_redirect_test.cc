// redirect_to_https (issue 12): a plain listener that answers every request 308 to the HTTPS
// listener, over real sockets, and curl following the redirect to the backend.

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using HttpsRedirectTest = TlsProxyTest;

TEST_F(HttpsRedirectTest, PlainListenerRedirectsEveryRequestToHttps) {
  const uint16_t https_port = unusedPort();
  const std::string https_listener =
      absl::StrCat("[[listeners]]\nname = \"https\"\nlisten = \"127.0.0.1:", https_port,
                   "\"\ntls = { certificates = [ ", certificateEntry(rsa_), " ] }\n\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\nredirect_to_https = true\n"
      "https_port = ",
      https_port, "\n\n[[listeners]]\nname = \"http443\"\nlisten = \"127.0.0.1:0\"\n",
      "redirect_to_https = true\n\n", https_listener, "[[pools]]\nname = \"app\"\nbackends = ",
      backendList({backendPort(0)}), "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  const uint16_t http_port = proxy_.ports.at("http");

  HttpClient client;
  ASSERT_TRUE(client.connect(http_port)) << client.lastError();
  // Keep-alive: several requests on one connection, each redirected with its own target.
  for (const std::string target : {"/a/b?c=1&d=%20", "/", "/x/../y"}) {
    std::optional<Response> response =
        client.request("GET", target, {{"Host", "www.example.com:8080"}});
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 308);
    EXPECT_EQ(response->header("Location"),
              absl::StrCat("https://www.example.com:", https_port, target));
    EXPECT_TRUE(response->keep_alive);
  }
  // A request with a body: answered at once, the method is kept by the client (308).
  std::optional<Response> post =
      client.request("POST", "/form", {{"Host", "www.example.com"}}, "field=value");
  ASSERT_TRUE(post.has_value()) << client.lastError();
  EXPECT_EQ(post->status, 308);
  EXPECT_EQ(post->header("Location"),
            absl::StrCat("https://www.example.com:", https_port, "/form"));

  {  // No Host at all (HTTP/1.0), or one that is not a host name: 400.
    HttpClient no_host;
    ASSERT_TRUE(no_host.connect(http_port)) << no_host.lastError();
    ASSERT_TRUE(no_host.sendRaw("GET / HTTP/1.0\r\n\r\n"));
    std::optional<Response> response = no_host.readResponse();
    ASSERT_TRUE(response.has_value()) << no_host.lastError();
    EXPECT_EQ(response->status, 400);
    EXPECT_FALSE(response->header("Location").has_value());
    HttpClient bad_host;
    ASSERT_TRUE(bad_host.connect(http_port)) << bad_host.lastError();
    response = bad_host.request("GET", "/", {{"Host", "evil.example/path"}});
    ASSERT_TRUE(response.has_value()) << bad_host.lastError();
    EXPECT_EQ(response->status, 400);
  }
  {  // The default https_port (443) is left out of the Location.
    HttpClient client443;
    ASSERT_TRUE(client443.connect(proxy_.ports.at("http443"))) << client443.lastError();
    std::optional<Response> response = client443.request("GET", "/p", {{"Host", "example.com"}});
    ASSERT_TRUE(response.has_value()) << client443.lastError();
    EXPECT_EQ(response->status, 308);
    EXPECT_EQ(response->header("Location"), "https://example.com/p");
  }
  // curl follows the redirect to the HTTPS listener and gets the backend; the backend never
  // saw a request over plain HTTP.
  auto curl = ChildProcess::start(
      {"curl", "-sS", "-L", "--max-time", "10", "--cacert", certificates_->rootCa(), "--resolve",
       absl::StrCat("www.example.com:", https_port, ":127.0.0.1"), "--resolve",
       absl::StrCat("www.example.com:", http_port, ":127.0.0.1"), "-w",
       "%{num_redirects} %{http_code} %{scheme}\\n",
       absl::StrCat("http://www.example.com:", http_port, "/")});
  ASSERT_TRUE(curl.ok()) << curl.status();
  EXPECT_EQ((*curl)->waitExit(std::chrono::seconds(15)), 0) << (*curl)->output();
  EXPECT_THAT((*curl)->stdoutLines(), ::testing::ElementsAre("blue", "1 200 HTTPS"))
      << (*curl)->output();
  EXPECT_EQ(stats(0).requests, 1u);
}

}  // namespace
}  // namespace sy::testing
