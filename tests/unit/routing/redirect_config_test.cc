// listeners.redirect_to_https and https_port: defaults, values, and the combinations refused.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using testing_util::parse;

std::string withListener(const std::string& lines) {
  return "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n" + lines +
         "[[pools]]\nname = \"blue\"\nbackends = [\"127.0.0.1:8081\"]\n"
         "[[routes]]\nname = \"default\"\npool = \"blue\"\n";
}

TEST(RedirectConfigTest, OffByDefaultAndPort443) {
  const LoadResult result = parse(withListener(""));
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result.config->listeners[0].redirect_to_https);
  EXPECT_EQ(result.config->listeners[0].https_port, 443u);
}

TEST(RedirectConfigTest, RedirectWithAPort) {
  const LoadResult result = parse(withListener("redirect_to_https = true\nhttps_port = 8443\n"));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.config->listeners[0].redirect_to_https);
  EXPECT_EQ(result.config->listeners[0].https_port, 8443u);
}

TEST(RedirectConfigTest, RedirectOnATlsListenerIsAnError) {
  EXPECT_ONLY_ERROR(
      parse(withListener("redirect_to_https = true\n"
                         "tls = { certificates = [ { cert = \"/a\", key = \"/b\" } ] }\n")),
      3, "listeners[0].redirect_to_https", "plain HTTP listeners");
}

TEST(RedirectConfigTest, HttpsPortNeedsTheRedirect) {
  EXPECT_ONLY_ERROR(parse(withListener("https_port = 8443\n")), 3, "listeners[0].https_port",
                    "needs redirect_to_https = true");
  EXPECT_ONLY_ERROR(parse(withListener("redirect_to_https = true\nhttps_port = 0\n")), 4,
                    "listeners[0].https_port", "");
  EXPECT_ONLY_ERROR(parse(withListener("redirect_to_https = \"yes\"\n")), 3,
                    "listeners[0].redirect_to_https", "");
}

}  // namespace
}  // namespace sy::routing::config
