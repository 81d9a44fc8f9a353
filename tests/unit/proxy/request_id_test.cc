// Request ids: generated ones are 32 hex digits and do not repeat; traceparent is accepted only
// when it follows W3C Trace Context.

#include "proxy/request_id.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace sy::proxy {
namespace {

TEST(RequestIdTest, GeneratedIdsAreHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    char id[kGeneratedRequestIdLength];
    generateRequestId(id);
    const std::string text(id, sizeof(id));
    ASSERT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos) << text;
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RequestIdTest, TraceparentGivesItsTraceId) {
  EXPECT_EQ(traceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            std::optional<std::string_view>("4bf92f3577b34da6a3ce929d0e0e4736"));
  // A later version may carry more fields after a '-'.
  EXPECT_EQ(traceIdOf("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra"),
            std::optional<std::string_view>("4bf92f3577b34da6a3ce929d0e0e4736"));
}

TEST(RequestIdTest, MalformedTraceparentIsIgnored) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 with more
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // no '-' before more
       }) {
    EXPECT_FALSE(traceIdOf(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sy::proxy
