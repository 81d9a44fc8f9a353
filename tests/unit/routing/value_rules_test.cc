// The string rules on their own, including the normalisations the loader relies on.

#include "routing/config/value_rules.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/quoted.h"

namespace sy::routing::config {
namespace {

using ::testing::HasSubstr;

TEST(ValueRulesTest, Names) {
  EXPECT_EQ(*checkName("blue-v2.1_a"), "blue-v2.1_a");
  EXPECT_FALSE(checkName("").ok());
  EXPECT_FALSE(checkName("blue pool").ok());
  EXPECT_FALSE(checkName("blue/1").ok());
  EXPECT_FALSE(checkName("bl\xc3\xa9").ok());  // non-ASCII
}

TEST(ValueRulesTest, HostPatternsAreLowerCased) {
  EXPECT_EQ(*normalizeHostPattern("Example.COM"), "example.com");
  EXPECT_EQ(*normalizeHostPattern("*.Example.com"), "*.example.com");
  EXPECT_EQ(*normalizeHostPattern("*"), "*");
  EXPECT_EQ(*normalizeHostPattern("localhost"), "localhost");
}

TEST(ValueRulesTest, HostPatternsRejected) {
  for (const char* bad :
       {"", "*.", "**.example.com", "*example.com", "a.*.com", "example.*", "example.com:80",
        "*.example.com:80", "exa mple.com", "example.com\t", "example.com/api"}) {
    EXPECT_FALSE(normalizeHostPattern(bad).ok()) << inQuotes(bad);
  }
  EXPECT_THAT(std::string(normalizeHostPattern("a.com:80").status().message()),
              HasSubstr("contains a port"));
}

TEST(ValueRulesTest, PathPrefix) {
  EXPECT_EQ(*checkPathPrefix("/"), "/");
  EXPECT_EQ(*checkPathPrefix("/api/"), "/api/");
  EXPECT_FALSE(checkPathPrefix("").ok());
  EXPECT_FALSE(checkPathPrefix("api").ok());
}

TEST(ValueRulesTest, RoutePathPrefixIsInNormalForm) {
  EXPECT_EQ(*checkRoutePathPrefix("/api/"), "/api/");
  EXPECT_FALSE(checkRoutePathPrefix("api").ok());
  // Requests are routed in normal form, so a prefix in another form would never match.
  EXPECT_EQ(*checkRoutePathPrefix("/a//b/"), "/a//b/");  // merging is the listener's business
  EXPECT_EQ(*checkRoutePathPrefix("/caf%C3%A9/"), "/caf%C3%A9/");
  EXPECT_THAT(std::string(checkRoutePathPrefix("/a/../b/").status().message()),
              HasSubstr("in normal form, such as \"/b/\""));
  EXPECT_THAT(std::string(checkRoutePathPrefix("/%61pi/").status().message()),
              HasSubstr("such as \"/api/\""));
  EXPECT_FALSE(checkRoutePathPrefix("/a/./").ok());
  EXPECT_FALSE(checkRoutePathPrefix("/caf%c3%a9/").ok());
  EXPECT_FALSE(checkRoutePathPrefix("/a?b").ok());
  EXPECT_THAT(std::string(checkRoutePathPrefix("/../").status().message()),
              HasSubstr("climbs above the root"));
}

TEST(ValueRulesTest, HostSuffix) {
  for (const char* ok : {"", "-shadow", ".shadow.internal", "v2"}) {
    EXPECT_TRUE(checkHostSuffix(ok).ok()) << ok;
  }
  for (const char* bad : {"\r\nX-Injected: 1", "has space", "a/b", ":8080", "a_b"}) {
    EXPECT_FALSE(checkHostSuffix(bad).ok()) << bad;
  }
}

TEST(ValueRulesTest, EnvNames) {
  EXPECT_EQ(*checkEnvName(""), "");
  EXPECT_EQ(*checkEnvName("SY_ADMIN_TOKEN2"), "SY_ADMIN_TOKEN2");
  EXPECT_FALSE(checkEnvName("2TOKEN").ok());
  EXPECT_FALSE(checkEnvName("my-token").ok());
}

TEST(ValueRulesTest, HashKeys) {
  const HashKeyConfig header = *parseHashKey("header:X-User");
  EXPECT_EQ(header.source, HashKeyConfig::Source::kHeader);
  EXPECT_EQ(header.name, "x-user");
  EXPECT_EQ(header.text, "header:X-User");

  const HashKeyConfig cookie = *parseHashKey("cookie:SID");
  EXPECT_EQ(cookie.source, HashKeyConfig::Source::kCookie);
  EXPECT_EQ(cookie.name, "SID");

  const HashKeyConfig ip = *parseHashKey("client_ip");
  EXPECT_EQ(ip.source, HashKeyConfig::Source::kClientIp);
  EXPECT_EQ(ip.name, "");

  for (const char* bad : {"", "client_ip:x", "header", "header:", "cookie:", "Header:x",
                          "header:x y", "header:x:y", "query:id", "cookie:a;b"}) {
    EXPECT_FALSE(parseHashKey(bad).ok()) << inQuotes(bad);
  }
}

TEST(QuotedTest, EscapesWhatCouldBeMisread) {
  EXPECT_EQ(inQuotes("plain"), "\"plain\"");
  EXPECT_EQ(inQuotes("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(inQuotes(std::string_view("t\tn\n\0", 5)), "\"t\\x09n\\x0a\\x00\"");
}

}  // namespace
}  // namespace sy::routing::config
