// parseAdminTarget: path and query split, percent-decoding, malformed encodings, repeated names.

#include "admin/admin_request.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sy::admin {
namespace {

using ::testing::IsEmpty;
using Query = std::map<std::string, std::string>;

TEST(AdminRequestTest, SplitsPathAndQuery) {
  const AdminRequest request = parseAdminTarget("POST", "/admin/switch?to=green&route=web");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/admin/switch");
  EXPECT_EQ(request.query, (Query{{"to", "green"}, {"route", "web"}}));
  EXPECT_FALSE(request.malformed_query);
  EXPECT_EQ(request.param("to"), "green");
  EXPECT_EQ(request.param("route"), "web");
  EXPECT_EQ(request.param("force"), std::nullopt);
  EXPECT_EQ(request.authorization, "");  // set by the server from the header, not from the target
}

TEST(AdminRequestTest, TargetWithoutQuery) {
  const AdminRequest request = parseAdminTarget("GET", "/admin/status");
  EXPECT_EQ(request.path, "/admin/status");
  EXPECT_THAT(request.query, IsEmpty());
  const AdminRequest empty_query = parseAdminTarget("GET", "/admin/status?");
  EXPECT_EQ(empty_query.path, "/admin/status");
  EXPECT_THAT(empty_query.query, IsEmpty());
  EXPECT_FALSE(empty_query.malformed_query);
}

TEST(AdminRequestTest, ParameterWithoutValueAndEmptyPairs) {
  const AdminRequest request = parseAdminTarget("POST", "/admin/switch?&force&&to=&x=a=b&");
  EXPECT_EQ(request.query, (Query{{"force", ""}, {"to", ""}, {"x", "a=b"}}));
  EXPECT_FALSE(request.malformed_query);
}

TEST(AdminRequestTest, PercentDecodesNamesAndValues) {
  const AdminRequest request =
      parseAdminTarget("POST", "/admin/switch?to=blue%2Fgreen&route=my+web&%72oute2=a%2fb%41%26c");
  EXPECT_FALSE(request.malformed_query);
  EXPECT_EQ(request.param("to"), "blue/green");
  EXPECT_EQ(request.param("route"), "my web");  // '+' is a space (form encoding)
  // An encoded '&' or '=' is data, not a separator.
  EXPECT_EQ(request.param("route2"), "a/bA&c");
  EXPECT_EQ(parseAdminTarget("GET", "/x?a=%3D%25%2B").param("a"), "=%+");
}

TEST(AdminRequestTest, PathIsNotDecoded) {
  const AdminRequest request = parseAdminTarget("GET", "/admin/%73tatus?a=1");
  EXPECT_EQ(request.path, "/admin/%73tatus");
}

TEST(AdminRequestTest, BadPercentEncodingIsFlagged) {
  for (const char* target : {"/x?to=%", "/x?to=%2", "/x?to=%zz", "/x?to=%2G", "/x?to=%G2",
                             "/x?to=abc%", "/x?%=1", "/x?a%4=1", "/x?ok=1&to=%%41"}) {
    const AdminRequest request = parseAdminTarget("POST", target);
    EXPECT_TRUE(request.malformed_query) << target;
    EXPECT_EQ(request.param("to"), std::nullopt) << target;  // a bad pair is not half-kept
  }
  // Good pairs around a bad one are still read; the flag makes the API refuse the call anyway.
  const AdminRequest mixed = parseAdminTarget("POST", "/x?route=web&to=%zz&force=1");
  EXPECT_TRUE(mixed.malformed_query);
  EXPECT_EQ(mixed.param("route"), "web");
  EXPECT_EQ(mixed.param("force"), "1");
}

TEST(AdminRequestTest, PercentAtTheVeryEndNeedsTwoDigits) {
  EXPECT_FALSE(parseAdminTarget("GET", "/x?a=%41").malformed_query);
  EXPECT_EQ(parseAdminTarget("GET", "/x?a=%41").param("a"), "A");
  EXPECT_TRUE(parseAdminTarget("GET", "/x?a=%4").malformed_query);
}

TEST(AdminRequestTest, RepeatedNamesKeepTheLast) {
  const AdminRequest request = parseAdminTarget("POST", "/admin/switch?to=blue&to=green&to=gray");
  EXPECT_EQ(request.param("to"), "gray");
  EXPECT_EQ(request.query.size(), 1u);
  // Decoding happens before the comparison: "t%6F" is "to".
  EXPECT_EQ(parseAdminTarget("POST", "/x?to=a&t%6F=b").param("to"), "b");
}

}  // namespace
}  // namespace sy::admin
