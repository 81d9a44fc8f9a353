#include "import/nginx_values.h"

#include "gtest/gtest.h"

namespace sy::importer {
namespace {

TEST(NginxValuesTest, Times) {
  EXPECT_EQ(parseNginxTime("30s"), 30000);
  EXPECT_EQ(parseNginxTime("90"), 90000);  // seconds without a unit
  EXPECT_EQ(parseNginxTime("500ms"), 500);
  EXPECT_EQ(parseNginxTime("1m30s"), 90000);
  EXPECT_EQ(parseNginxTime("1h 30m"), 5400000);
  EXPECT_EQ(parseNginxTime("1d"), 86400000);
  EXPECT_FALSE(parseNginxTime("fast"));
  EXPECT_FALSE(parseNginxTime("1m 30"));
  EXPECT_FALSE(parseNginxTime(""));
  EXPECT_EQ(switchyardDuration(90000), "90s");
  EXPECT_EQ(switchyardDuration(120000), "2m");
  EXPECT_EQ(switchyardDuration(1500), "1500ms");
  EXPECT_EQ(switchyardDuration(7200000), "2h");
}

TEST(NginxValuesTest, Sizes) {
  EXPECT_EQ(parseNginxSize("10m"), 10u * 1024 * 1024);
  EXPECT_EQ(parseNginxSize("512k"), 512u * 1024);
  EXPECT_EQ(parseNginxSize("100"), 100u);
  EXPECT_FALSE(parseNginxSize("10x"));
}

TEST(NginxValuesTest, ListenAddresses) {
  EXPECT_EQ(listenAddress("80"), "0.0.0.0:80");
  EXPECT_EQ(listenAddress("*:8080"), "0.0.0.0:8080");
  EXPECT_EQ(listenAddress("127.0.0.1"), "127.0.0.1:80");
  EXPECT_EQ(listenAddress("127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(listenAddress("[::]:443"), "[::]:443");
  EXPECT_EQ(listenAddress("localhost:81"), "localhost:81");
  EXPECT_FALSE(listenAddress("unix:/run/nginx.sock"));
  EXPECT_FALSE(listenAddress("[::1"));
}

TEST(NginxValuesTest, BackendAddresses) {
  EXPECT_EQ(backendAddress("app-v1:8080"), "app-v1:8080");
  EXPECT_EQ(backendAddress("10.0.0.1"), "10.0.0.1:80");
  EXPECT_EQ(backendAddress("[::1]"), "[::1]:80");
  EXPECT_EQ(backendAddress("[::1]:81"), "[::1]:81");
  EXPECT_FALSE(backendAddress("::1"));
  EXPECT_FALSE(backendAddress("unix:/tmp/a.sock"));
  EXPECT_FALSE(backendAddress("$upstream"));
  EXPECT_FALSE(backendAddress("a:b"));
}

TEST(NginxValuesTest, VariablesAsRequestKeys) {
  EXPECT_EQ(requestKeyOfVariable("remote_addr"), "client_ip");
  EXPECT_EQ(requestKeyOfVariable("binary_remote_addr"), "client_ip");
  EXPECT_EQ(requestKeyOfVariable("cookie_Session_ID"), "cookie:Session_ID");
  EXPECT_EQ(requestKeyOfVariable("http_x_user_id"), "header:x-user-id");
  EXPECT_FALSE(requestKeyOfVariable("request_uri"));
  EXPECT_EQ(firstVariable("${remote_addr}AAA"), "remote_addr");
  EXPECT_EQ(firstVariable("x$http_user_agent-y"), "http_user_agent");
  EXPECT_EQ(firstVariable("plain"), "");
  EXPECT_EQ(switchyardName("127.0.0.1:8080"), "127.0.0.1-8080");
}

}  // namespace
}  // namespace sy::importer
