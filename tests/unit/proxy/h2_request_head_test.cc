// H2RequestHead: an HTTP/2 request's header list becomes the HTTP/1.1 head the exchange parses.

#include "proxy/h2_request_head.h"

#include "gtest/gtest.h"

namespace sy::proxy {
namespace {

TEST(H2RequestHeadTest, PseudoHeadersMakeTheRequestLineAndHost) {
  H2RequestHead head;
  head.add(":method", "GET");
  head.add(":scheme", "https");
  head.add(":authority", "example.com");
  head.add(":path", "/a?b=1");
  head.add("accept", "*/*");
  head.add("host", "other.example");  // :authority wins
  head.add("te", "trailers");         // hop-by-hop: dropped
  EXPECT_EQ(head.build(false), "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n\r\n");
}

TEST(H2RequestHeadTest, CookieCrumbsAreJoinedAndHostStandsInForAuthority) {
  H2RequestHead head;
  head.add(":method", "GET");
  head.add(":path", "/");
  head.add("host", "example.com");
  head.add("cookie", "a=1");
  head.add("cookie", "b=2");
  EXPECT_EQ(head.build(false), "GET / HTTP/1.1\r\nHost: example.com\r\ncookie: a=1; b=2\r\n\r\n");
}

TEST(H2RequestHeadTest, ABodyWithoutLengthIsChunked) {
  H2RequestHead head;
  head.add(":method", "POST");
  head.add(":path", "/echo");
  head.add(":authority", "h");
  EXPECT_EQ(head.build(true),
            "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  head.add("content-length", "5");
  EXPECT_TRUE(head.hasContentLength());
  EXPECT_EQ(head.build(true), "POST /echo HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\n");
}

}  // namespace
}  // namespace sy::proxy
