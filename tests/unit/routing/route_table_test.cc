#include "routing/route_table.h"

#include "gtest/gtest.h"

namespace sy::routing {
namespace {

Route makeRoute(std::string name, std::vector<std::string> hosts, std::string prefix) {
  Route route;
  route.name = std::move(name);
  for (const auto& host : hosts) route.hosts.push_back(HostMatcher::parse(host));
  route.path_prefix = std::move(prefix);
  return route;
}

TEST(RouteTableTest, FirstMatchInConfigurationOrder) {
  RouteTable table({makeRoute("api", {"api.example.com"}, "/v1"),
                    makeRoute("wild", {"*.example.com"}, "/"), makeRoute("any", {}, "/")});
  EXPECT_EQ(table.match("api.example.com", "/v1/users")->name, "api");
  EXPECT_EQ(table.match("API.Example.COM:8080", "/v1?x=1")->name, "api");
  EXPECT_EQ(table.match("api.example.com", "/v2")->name, "wild");
  EXPECT_EQ(table.match("www.example.com", "/")->name, "wild");
  EXPECT_EQ(table.match("example.com", "/")->name, "any");  // the bare domain is not *.example.com
  EXPECT_EQ(table.match("", "/")->name, "any");
}

TEST(RouteTableTest, NoMatch) {
  RouteTable table({makeRoute("only", {"a.test"}, "/app")});
  EXPECT_EQ(table.match("a.test", "/"), nullptr);
  EXPECT_EQ(table.match("b.test", "/app"), nullptr);
  EXPECT_EQ(table.find("only")->name, "only");
  EXPECT_EQ(table.find("other"), nullptr);
}

TEST(RouteTableTest, HostAndPathNormalisation) {
  EXPECT_EQ(normalizeHost("Example.com:8080"), "Example.com");
  EXPECT_EQ(normalizeHost("example.com."), "example.com");
  EXPECT_EQ(normalizeHost("[::1]:8080"), "[::1]");
  EXPECT_EQ(requestPath("/a/b?c=d"), "/a/b");
  EXPECT_EQ(requestPath("http://h:1/a?x"), "/a");
  EXPECT_EQ(requestPath("http://h"), "/");
  EXPECT_EQ(requestPath("*"), "/");
}

TEST(RouteTableTest, AbsoluteFormTargetsRouteByPath) {
  RouteTable table({makeRoute("api", {}, "/api"), makeRoute("rest", {}, "/")});
  EXPECT_EQ(table.match("h", "http://h/api/x")->name, "api");
  EXPECT_EQ(table.match("h", "http://h/apx")->name, "rest");
}

}  // namespace
}  // namespace sy::routing
