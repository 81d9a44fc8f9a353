// Routes on the SNI name (`sni` of [[routes]]): the matcher, how it combines with hosts and paths
// in the table, and the configuration key.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"
#include "routing/route_table.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing {
namespace {

TEST(SniMatcherTest, ExactIsCaseInsensitive) {
  const SniMatcher matcher = SniMatcher::parse("API.example.com");
  EXPECT_TRUE(matcher.matches("api.example.com"));
  EXPECT_TRUE(matcher.matches("Api.Example.COM"));
  EXPECT_TRUE(matcher.matches("api.example.com."));  // absolute form
  EXPECT_FALSE(matcher.matches("www.example.com"));
  EXPECT_FALSE(matcher.matches("a.api.example.com"));
  EXPECT_FALSE(matcher.matches("example.com"));
  EXPECT_FALSE(matcher.matches(""));
}

TEST(SniMatcherTest, WildcardCoversOneLabel) {
  const SniMatcher matcher = SniMatcher::parse("*.Example.com");
  EXPECT_TRUE(matcher.matches("a.example.com"));
  EXPECT_TRUE(matcher.matches("WWW.EXAMPLE.COM"));
  EXPECT_FALSE(matcher.matches("example.com"));
  EXPECT_FALSE(matcher.matches(".example.com"));
  EXPECT_FALSE(matcher.matches("a.b.example.com"));
  EXPECT_FALSE(matcher.matches("aexample.com"));
}

Route route(std::string name, std::vector<std::string> sni, std::vector<std::string> hosts = {}) {
  Route r;
  r.name = std::move(name);
  for (const auto& s : sni) r.sni.push_back(SniMatcher::parse(s));
  for (const auto& h : hosts) r.hosts.push_back(HostMatcher::parse(h));
  return r;
}

TEST(SniRouteTableTest, OnlyTlsConnectionsWithAMatchingNameReachAnSniRoute) {
  RouteTable table(
      {route("api", {"api.example.com"}), route("wild", {"*.example.com"}), route("any", {})});
  EXPECT_TRUE(table.usesSni());
  using Sni = std::optional<std::string_view>;
  EXPECT_EQ(table.match("whatever", "/", Sni("api.example.com"))->name, "api");
  EXPECT_EQ(table.match("whatever", "/", Sni("shop.example.com"))->name, "wild");
  EXPECT_EQ(table.match("whatever", "/", Sni("a.b.example.com"))->name, "any");
  EXPECT_EQ(table.match("api.example.com", "/", Sni(""))->name, "any");       // TLS without SNI
  EXPECT_EQ(table.match("api.example.com", "/", std::nullopt)->name, "any");  // plain HTTP
  EXPECT_EQ(table.match("api.example.com", "/")->name, "any");
}

TEST(SniRouteTableTest, SniAndHostsMustBothMatch) {
  RouteTable table({route("both", {"api.example.com"}, {"internal.test"}), route("any", {})});
  using Sni = std::optional<std::string_view>;
  EXPECT_EQ(table.match("internal.test", "/", Sni("api.example.com"))->name, "both");
  EXPECT_EQ(table.match("other.test", "/", Sni("api.example.com"))->name, "any");
  EXPECT_EQ(table.match("internal.test", "/", Sni("www.example.com"))->name, "any");
  EXPECT_FALSE(RouteTable({route("any", {})}).usesSni());
}

}  // namespace

namespace config {
namespace {

using testing_util::parse;

std::string withRoute(const std::string& lines) {
  return "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n[[pools]]\nname = \"blue\"\n"
         "backends = [\"127.0.0.1:8081\"]\n[[routes]]\nname = \"default\"\npool = \"blue\"\n" +
         lines;
}

TEST(SniRouteConfigTest, NamesAreLowerCased) {
  const LoadResult result = parse(withRoute("sni = [\"API.example.com\", \"*.Example.com\"]\n"));
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result.config->routes[0].sni,
              ::testing::ElementsAre("api.example.com", "*.example.com"));
  EXPECT_TRUE(parse(withRoute("")).config->routes[0].sni.empty());
}

TEST(SniRouteConfigTest, RefusesWhatIsNotADnsNameOrWildcard) {
  for (const char* bad : {"\"*\"", "\"\"", "\"api.example.com:443\"", "\"a.*.com\"",
                          "\"*example.com\"", "\"a b\"", "\"example.com.\"", "\"a..b\""}) {
    EXPECT_ONLY_ERROR(parse(withRoute(std::string("sni = [") + bad + "]\n")), 9, "routes[0].sni[0]",
                      "a DNS name");
  }
}

}  // namespace
}  // namespace config
}  // namespace sy::routing
