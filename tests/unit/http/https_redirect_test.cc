// The Location of redirect_to_https: host without its port, the HTTPS port when not 443, the
// target as sent; nothing for a host that cannot be put in a header.

#include "http/https_redirect.h"

#include "gtest/gtest.h"

namespace sy::http {
namespace {

TEST(HttpsRedirectTest, HostWithoutItsPortAndTheTarget) {
  EXPECT_EQ(httpsLocation("example.com", "/a?b=1", 443), "https://example.com/a?b=1");
  EXPECT_EQ(httpsLocation("example.com:8080", "/", 443), "https://example.com/");
  EXPECT_EQ(httpsLocation("Example.COM:80", "/x", 8443), "https://Example.COM:8443/x");
  EXPECT_EQ(httpsLocation("10.0.0.1:8080", "/", 443), "https://10.0.0.1/");
  EXPECT_EQ(httpsLocation("[::1]:8080", "/p", 443), "https://[::1]/p");
  EXPECT_EQ(httpsLocation("[2001:db8::1]", "/p", 9443), "https://[2001:db8::1]:9443/p");
  EXPECT_EQ(httpsLocation("example.com", "*", 443), "https://example.com/");
}

TEST(HttpsRedirectTest, NoUsableHost) {
  EXPECT_EQ(httpsLocation("", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation(":8080", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("example.com:http", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("evil.com/path", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("a b", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("user@example.com", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("[::1", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("[::1]x", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("[zz]", "/", 443), std::nullopt);
  EXPECT_EQ(httpsLocation("example.com", "relative", 443), std::nullopt);
}

}  // namespace
}  // namespace sy::http
