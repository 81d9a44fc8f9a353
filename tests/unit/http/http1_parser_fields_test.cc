// Http1Parser fed decoded fields (an HTTP/2 request's header list) instead of text: the same
// head accessors, the same limits and head rules, no HTTP/1.1 text in between.

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "http/http1_parser.h"

namespace sy::http {
namespace {

using FieldsList = std::vector<std::pair<std::string, std::string>>;

class FieldsRecorder final : public ParserCallbacks {
 public:
  explicit FieldsRecorder(ParserLimits limits = {})
      : parser(Http1Parser::Type::kRequest, this, limits) {
    parser.beginFields();
  }

  HeadAction onHeadComplete() override {
    ++heads;
    return kProceed;
  }
  void onBody(const char* data, size_t length) override { body.append(data, length); }
  void onMessageComplete() override { ++messages; }

  Http1Parser::Result load(const FieldsList& fields, bool body_follows = false) {
    for (const auto& [name, value] : fields) parser.addField(name, value);
    return parser.finishFields(body_follows);
  }

  Http1Parser parser;
  int heads = 0;
  int messages = 0;
  std::string body;
};

FieldsList fieldsGet(std::string path = "/") {
  return {{":method", "GET"},
          {":scheme", "http"},
          {":path", std::move(path)},
          {":authority", "example.com"}};
}

TEST(Http1ParserFieldsTest, PseudoHeadersMakeTheRequestLineAndHost) {
  FieldsRecorder r;
  FieldsList fields = fieldsGet("/a?b=1");
  fields.push_back({"accept", "*/*"});
  fields.push_back({"x-two", "2"});
  EXPECT_EQ(r.load(fields), Http1Parser::Result::kPaused);
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.messages, 1);
  EXPECT_EQ(r.parser.method(), HTTP_GET);
  EXPECT_EQ(r.parser.methodName(), "GET");
  EXPECT_EQ(r.parser.url(), "/a?b=1");
  EXPECT_TRUE(r.parser.isHttp11OrLater());
  EXPECT_TRUE(r.parser.keepAlive());
  EXPECT_FALSE(r.parser.hasBody());
  EXPECT_FALSE(r.parser.upgrade());
  const HeaderBlock& headers = r.parser.headers();
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers.name(0), "Host");
  EXPECT_EQ(headers.value(0), "example.com");
  EXPECT_EQ(headers.name(1), "accept");
  EXPECT_EQ(headers.name(2), "x-two");
  // "GET /a?b=1 HTTP/1.1\r\n" + "Host: example.com\r\n" + "accept: */*\r\n" + "x-two: 2\r\n" + 2
  EXPECT_EQ(r.parser.messageBytes(), 21u + 19u + 13u + 10u + 2u);
}

TEST(Http1ParserFieldsTest, CookieCrumbsAreJoinedAndTeIsDropped) {
  FieldsRecorder r;
  FieldsList fields = fieldsGet();
  fields.push_back({"cookie", "a=1"});
  fields.push_back({"te", "trailers"});
  fields.push_back({"x-between", "y"});
  fields.push_back({"cookie", "b=2"});
  fields.push_back({"cookie", "c=3"});
  ASSERT_EQ(r.load(fields), Http1Parser::Result::kPaused);
  EXPECT_EQ(r.parser.headers().countOf("cookie"), 1u);
  EXPECT_EQ(r.parser.headers().find("cookie"), "a=1; b=2; c=3");
  EXPECT_FALSE(r.parser.headers().find("te").has_value());
  EXPECT_EQ(r.parser.headers().find("x-between"), "y");
}

TEST(Http1ParserFieldsTest, HostStandsInForAMissingAuthorityAndAuthorityWins) {
  FieldsRecorder without_authority;
  ASSERT_EQ(without_authority.load({{":method", "GET"}, {":path", "/"}, {"host", "h.example"}}),
            Http1Parser::Result::kPaused);
  EXPECT_EQ(without_authority.parser.headers().find("host"), "h.example");

  FieldsRecorder both;
  FieldsList fields = fieldsGet();
  fields.push_back({"host", "other.example"});
  ASSERT_EQ(both.load(fields), Http1Parser::Result::kPaused);
  EXPECT_EQ(both.parser.headers().countOf("host"), 1u);
  EXPECT_EQ(both.parser.headers().find("host"), "example.com");
}

TEST(Http1ParserFieldsTest, NoHostIsRefusedAs400) {
  FieldsRecorder r;
  EXPECT_EQ(r.load({{":method", "GET"}, {":path", "/"}}), Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 400);
  EXPECT_EQ(r.heads, 0);
}

TEST(Http1ParserFieldsTest, AnInvalidHostIsRefusedAs400) {
  FieldsRecorder r;
  EXPECT_EQ(r.load({{":method", "GET"}, {":path", "/"}, {":authority", "a b"}}),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 400);
}

TEST(Http1ParserFieldsTest, ALongTargetIsRefusedAs414) {
  FieldsRecorder r(ParserLimits{.max_url_bytes = 16});
  EXPECT_EQ(r.load(fieldsGet("/" + std::string(16, 'a'))), Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 414);
  EXPECT_EQ(r.heads, 0);

  FieldsRecorder at_limit(ParserLimits{.max_url_bytes = 16});
  EXPECT_EQ(at_limit.load(fieldsGet("/" + std::string(15, 'a'))), Http1Parser::Result::kPaused);
}

TEST(Http1ParserFieldsTest, TooManyHeaderBytesAreRefusedAs431) {
  // Names and values count, Host included: "Host" + "example.com" is 15 bytes.
  FieldsRecorder r(ParserLimits{.max_header_bytes = 40});
  FieldsList fields = fieldsGet();
  fields.push_back({"x-long", std::string(20, 'v')});
  EXPECT_EQ(r.load(fields), Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 431);
  EXPECT_EQ(r.heads, 0);

  FieldsRecorder fits(ParserLimits{.max_header_bytes = 41});
  EXPECT_EQ(fits.load(fields), Http1Parser::Result::kPaused);
}

TEST(Http1ParserFieldsTest, JoinedCookiesCountTowardsTheByteLimit) {
  FieldsRecorder r(ParserLimits{.max_header_bytes = 40});
  FieldsList fields = fieldsGet();
  for (int i = 0; i < 4; ++i) fields.push_back({"cookie", "abc=1"});
  // "cookie" + "abc=1; abc=1; abc=1; abc=1" (26) + Host's 15 = 47.
  EXPECT_EQ(r.load(fields), Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 431);
}

TEST(Http1ParserFieldsTest, TooManyFieldsAreRefusedAs431) {
  FieldsRecorder r(ParserLimits{.max_header_count = 3});
  FieldsList fields = fieldsGet();
  for (int i = 0; i < 3; ++i) fields.push_back({"x-f" + std::to_string(i), "v"});
  EXPECT_EQ(r.load(fields), Http1Parser::Result::kError);  // Host and three more
  EXPECT_EQ(r.parser.errorStatus(), 431);

  FieldsRecorder fits(ParserLimits{.max_header_count = 4});
  EXPECT_EQ(fits.load(fields), Http1Parser::Result::kPaused);
}

TEST(Http1ParserFieldsTest, NonAsciiTargetBytesAreRefusedAsLlhttpRefusesThem) {
  FieldsRecorder r;
  EXPECT_EQ(r.load(fieldsGet("/caf\xc3\xa9")), Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 400);
}

TEST(Http1ParserFieldsTest, MethodsFollowTheTextRules) {
  FieldsRecorder too_long;
  FieldsList fields = fieldsGet();
  fields[0].second = std::string(Http1Parser::kMaxMethodBytes, 'A');
  EXPECT_EQ(too_long.load(fields), Http1Parser::Result::kError);
  EXPECT_EQ(too_long.parser.errorStatus(), 400);

  FieldsRecorder extension;
  fields[0].second = "QUERY-X";
  ASSERT_EQ(extension.load(fields), Http1Parser::Result::kPaused);
  EXPECT_EQ(extension.parser.method(), HTTP_POST);
  EXPECT_EQ(extension.parser.methodName(), "QUERY-X");

  FieldsRecorder known;
  fields[0].second = "DELETE";
  ASSERT_EQ(known.load(fields), Http1Parser::Result::kPaused);
  EXPECT_EQ(known.parser.method(), HTTP_DELETE);
  EXPECT_EQ(known.parser.methodName(), "DELETE");

  for (const char* refused : {"get", "GE.T", ""}) {
    FieldsRecorder r;
    fields[0].second = refused;
    EXPECT_EQ(r.load(fields), Http1Parser::Result::kError) << refused;
    EXPECT_EQ(r.parser.errorStatus(), 400) << refused;
  }
}

TEST(Http1ParserFieldsTest, ConnectTakesTheAuthorityAsTargetAndHasNoBody) {
  FieldsRecorder r;
  ASSERT_EQ(r.load({{":method", "CONNECT"}, {":authority", "example.com:443"}},
                   /*body_follows=*/true),
            Http1Parser::Result::kPaused);
  EXPECT_EQ(r.parser.method(), HTTP_CONNECT);
  EXPECT_EQ(r.parser.url(), "example.com:443");
  EXPECT_FALSE(r.parser.hasBody());
}

TEST(Http1ParserFieldsTest, ABodyOfUnknownLengthReadsAsChunkedAndEndsWithTheStream) {
  FieldsRecorder r;
  FieldsList fields = fieldsGet("/upload");
  fields[0].second = "POST";
  ASSERT_EQ(r.load(fields, /*body_follows=*/true), Http1Parser::Result::kNeedMore);
  EXPECT_TRUE(r.parser.chunked());
  EXPECT_TRUE(r.parser.hasBody());
  EXPECT_FALSE(r.parser.hasContentLength());
  const uint64_t head_bytes = r.parser.messageBytes();
  EXPECT_EQ(r.parser.addBody("hello ", 6), Http1Parser::Result::kNeedMore);
  EXPECT_EQ(r.parser.addBody("world", 5), Http1Parser::Result::kNeedMore);
  EXPECT_EQ(r.messages, 0);
  EXPECT_EQ(r.parser.finishBody(), Http1Parser::Result::kPaused);
  EXPECT_EQ(r.messages, 1);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.parser.messageBytes(), head_bytes + 11);
  EXPECT_EQ(r.parser.finishBody(), Http1Parser::Result::kNeedMore);  // once only
  EXPECT_EQ(r.messages, 1);
}

TEST(Http1ParserFieldsTest, AContentLengthBodyEndsWithItsLastByte) {
  FieldsRecorder r;
  FieldsList fields = fieldsGet("/upload");
  fields[0].second = "PUT";
  fields.push_back({"content-length", "4"});
  ASSERT_EQ(r.load(fields, /*body_follows=*/true), Http1Parser::Result::kNeedMore);
  EXPECT_FALSE(r.parser.chunked());
  EXPECT_EQ(r.parser.contentLength(), 4u);
  EXPECT_EQ(r.parser.headers().find("content-length"), "4");
  EXPECT_EQ(r.parser.addBody("ab", 2), Http1Parser::Result::kNeedMore);
  EXPECT_EQ(r.parser.addBody("cd", 2), Http1Parser::Result::kPaused);
  EXPECT_EQ(r.body, "abcd");
  EXPECT_EQ(r.parser.finishBody(), Http1Parser::Result::kNeedMore);
  EXPECT_EQ(r.messages, 1);

  FieldsRecorder empty;
  fields.back().second = "0";
  EXPECT_EQ(empty.load(fields, /*body_follows=*/true), Http1Parser::Result::kPaused);
  EXPECT_FALSE(empty.parser.hasBody());
}

TEST(Http1ParserFieldsTest, AnInvalidContentLengthIsRefused) {
  for (const FieldsList& extra : {FieldsList{{"content-length", "1x"}},
                                  FieldsList{{"content-length", "99999999999999999999999"}},
                                  FieldsList{{"content-length", "1"}, {"content-length", "1"}}}) {
    FieldsRecorder r;
    FieldsList fields = fieldsGet();
    fields.insert(fields.end(), extra.begin(), extra.end());
    EXPECT_EQ(r.load(fields, /*body_follows=*/true), Http1Parser::Result::kError);
    EXPECT_EQ(r.parser.errorStatus(), 400);
  }
}

TEST(Http1ParserFieldsTest, TheAsteriskFormIsForOptionsOnly) {
  FieldsRecorder options;
  FieldsList fields = fieldsGet("*");
  fields[0].second = "OPTIONS";
  EXPECT_EQ(options.load(fields), Http1Parser::Result::kPaused);

  FieldsRecorder get;
  EXPECT_EQ(get.load(fieldsGet("*")), Http1Parser::Result::kError);
  EXPECT_EQ(get.parser.errorStatus(), 400);
}

}  // namespace
}  // namespace sy::http
