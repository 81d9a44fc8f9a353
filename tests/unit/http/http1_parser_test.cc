#include "http/http1_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sy::http {
namespace {

// Records what the parser reports, and feeds input in pieces of a chosen size to prove that
// nothing depends on how the bytes arrive.
class Recorder final : public ParserCallbacks {
 public:
  explicit Recorder(Http1Parser::Type type, ParserLimits limits = {})
      : parser(type, this, limits) {}

  HeadAction onHeadComplete() override {
    ++heads;
    urls.push_back(std::string(parser.url()));
    until_eof_at_head = parser.bodyUntilEof();
    return no_body ? kNoBody : kProceed;
  }
  void onBody(const char* data, size_t length) override { body.append(data, length); }
  void onMessageComplete() override { ++messages; }

  // Feeds everything, `step` bytes at a time, resuming after each message. Returns the last
  // result.
  Http1Parser::Result feed(const std::string& input, size_t step = 0) {
    if (step == 0) step = input.size();
    Http1Parser::Result result = Http1Parser::Result::kNeedMore;
    for (size_t offset = 0; offset < input.size();) {
      const size_t length = std::min(step, input.size() - offset);
      size_t consumed = 0;
      result = parser.execute(input.data() + offset, length, &consumed);
      if (result == Http1Parser::Result::kError) return result;
      offset += consumed;
      if (result == Http1Parser::Result::kPaused) parser.resume();
    }
    return result;
  }

  Http1Parser parser;
  bool no_body = false;
  bool until_eof_at_head = false;
  int heads = 0;
  int messages = 0;
  std::string body;
  std::vector<std::string> urls;
};

TEST(Http1ParserTest, ParsesRequestHeadAndHeaders) {
  Recorder r(Http1Parser::Type::kRequest);
  size_t consumed = 0;
  const std::string input =
      "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nX-Pad:  v  \r\n\r\n";
  EXPECT_EQ(r.parser.execute(input.data(), input.size(), &consumed), Http1Parser::Result::kPaused);
  EXPECT_EQ(consumed, input.size());
  EXPECT_EQ(r.parser.methodName(), "GET");
  EXPECT_EQ(r.parser.url(), "/a?b=1");
  ASSERT_EQ(r.parser.headers().size(), 3u);
  EXPECT_EQ(r.parser.headers().find("HOST").value_or(""), "example.com");
  EXPECT_EQ(r.parser.headers().find("x-empty").value_or("missing"), "");
  EXPECT_EQ(r.parser.headers().find("x-pad").value_or(""), "v");  // trailing OWS trimmed
  EXPECT_TRUE(r.parser.keepAlive());
  EXPECT_FALSE(r.parser.hasBody());
}

TEST(Http1ParserTest, SameResultWhateverTheReadSizes) {
  const std::string input =
      "POST /upload HTTP/1.1\r\nHost: h\r\nX-Long-Header-Name: some longer value here\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (size_t step : {1u, 2u, 3u, 7u, 64u}) {
    Recorder r(Http1Parser::Type::kRequest);
    EXPECT_NE(r.feed(input, step), Http1Parser::Result::kError) << "step " << step;
    EXPECT_EQ(r.messages, 1) << "step " << step;
    EXPECT_EQ(r.body, "hello world") << "step " << step;
    EXPECT_EQ(r.parser.headers().find("x-long-header-name").value_or(""), "some longer value here")
        << "step " << step;
  }
}

TEST(Http1ParserTest, PausesAfterEachPipelinedRequest) {
  Recorder r(Http1Parser::Type::kRequest);
  const std::string input = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t consumed = 0;
  ASSERT_EQ(r.parser.execute(input.data(), input.size(), &consumed), Http1Parser::Result::kPaused);
  EXPECT_EQ(consumed, input.size() / 2);
  r.parser.resume();
  size_t rest = 0;
  ASSERT_EQ(r.parser.execute(input.data() + consumed, input.size() - consumed, &rest),
            Http1Parser::Result::kPaused);
  EXPECT_EQ(r.urls, (std::vector<std::string>{"/1", "/2"}));
}

TEST(Http1ParserTest, RejectsObsFoldWhereverTheReadsSplit) {
  const std::string input = "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n";
  for (size_t step = 1; step <= input.size(); ++step) {
    Recorder r(Http1Parser::Type::kRequest);
    EXPECT_EQ(r.feed(input, step), Http1Parser::Result::kError) << "step " << step;
    EXPECT_EQ(r.parser.errorStatus(), 400);
    EXPECT_NE(std::string(r.parser.errorReason()).find("folding"), std::string::npos);
  }
}

TEST(Http1ParserTest, RejectsObsFoldOfAnEmptyValue) {
  Recorder r(Http1Parser::Type::kRequest);
  EXPECT_EQ(r.feed("GET / HTTP/1.1\r\nHost: h\r\nX-A:\r\n two\r\n\r\n"),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 400);
}

TEST(Http1ParserTest, AcceptsAValueSplitAcrossReadsAtASpace) {
  const std::string input = "GET / HTTP/1.1\r\nHost: h\r\nX-A: one two three\r\n\r\n";
  for (size_t step = 1; step < input.size(); ++step) {
    Recorder r(Http1Parser::Type::kRequest);
    ASSERT_NE(r.feed(input, step), Http1Parser::Result::kError) << "step " << step;
    EXPECT_EQ(r.parser.headers().find("x-a").value_or(""), "one two three") << "step " << step;
  }
}

TEST(Http1ParserTest, RejectsAmbiguousFraming) {
  struct Case {
    const char* name;
    const char* input;
  } cases[] = {
      {"cl+te",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"duplicate cl",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n"},
      {"bare lf in header", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"},
      {"bare cr", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"},
      {"unknown te", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"},
      {"no host in 1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n"},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"garbage", "\x01\x02\x03 / HTTP/1.1\r\n\r\n"},
  };
  for (const Case& c : cases) {
    Recorder r(Http1Parser::Type::kRequest);
    EXPECT_EQ(r.feed(c.input), Http1Parser::Result::kError) << c.name;
    EXPECT_EQ(r.parser.errorStatus(), 400) << c.name;
    EXPECT_EQ(r.heads, 0) << c.name << " must not reach the application";
  }
}

TEST(Http1ParserTest, MalformedChunksAreRejectedMidBody) {
  Recorder r(Http1Parser::Type::kRequest);
  EXPECT_EQ(r.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\nzz\r\n"),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.parser.errorStatus(), 400);
  EXPECT_EQ(r.body, "abc");  // streamed before the bad chunk; the proxy aborts the exchange
  EXPECT_EQ(r.messages, 0);
}

TEST(Http1ParserTest, ChunkDataMustEndWithCrlfWhereverTheReadsSplit) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string bad : {"5\r\nhelloXX0\r\n\r\n", "5\r\nhello\n\n0\r\n\r\n",
                                "5\r\nhello\rX0\r\n\r\n", "3\r\nabc0\r\n\r\n"}) {
    const std::string input = head + bad;
    for (size_t step = 1; step <= input.size(); ++step) {
      Recorder r(Http1Parser::Type::kRequest);
      EXPECT_EQ(r.feed(input, step), Http1Parser::Result::kError) << bad << " step " << step;
      EXPECT_EQ(r.parser.errorStatus(), 400);
      EXPECT_EQ(r.messages, 0) << bad << " step " << step;
    }
  }
  // Responses too (a backend's framing error is a 502).
  Recorder response(Http1Parser::Type::kResponse);
  EXPECT_EQ(
      response.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n"),
      Http1Parser::Result::kError);
  EXPECT_EQ(response.parser.errorStatus(), 502);
  // Well-formed chunks, extensions and trailers, split anywhere, still parse.
  const std::string good =
      head + "5;x=1\r\nhello\r\n1\r\n \r\na\r\n0123456789\r\n0\r\nT: v\r\n\r\n";
  for (size_t step = 1; step <= good.size(); ++step) {
    Recorder r(Http1Parser::Type::kRequest);
    EXPECT_NE(r.feed(good, step), Http1Parser::Result::kError) << "step " << step;
    EXPECT_EQ(r.body, "hello 0123456789") << "step " << step;
    EXPECT_EQ(r.messages, 1) << "step " << step;
  }
}

TEST(Http1ParserTest, Http10WithoutHostIsFine) {
  Recorder r(Http1Parser::Type::kRequest);
  EXPECT_NE(r.feed("GET / HTTP/1.0\r\n\r\n"), Http1Parser::Result::kError);
  EXPECT_EQ(r.messages, 1);
  EXPECT_FALSE(r.parser.isHttp11OrLater());
  EXPECT_FALSE(r.parser.keepAlive());
}

TEST(Http1ParserTest, EnforcesLimits) {
  ParserLimits limits;
  limits.max_url_bytes = 16;
  limits.max_header_bytes = 64;
  limits.max_header_count = 3;
  {
    Recorder r(Http1Parser::Type::kRequest, limits);
    EXPECT_EQ(r.feed("GET /aaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n", 4),
              Http1Parser::Result::kError);
    EXPECT_EQ(r.parser.errorStatus(), 414);
  }
  {
    Recorder r(Http1Parser::Type::kRequest, limits);
    EXPECT_EQ(r.feed("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'v') + "\r\n\r\n"),
              Http1Parser::Result::kError);
    EXPECT_EQ(r.parser.errorStatus(), 431);
  }
  {
    Recorder r(Http1Parser::Type::kRequest, limits);
    EXPECT_EQ(r.feed("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
              Http1Parser::Result::kError);
    EXPECT_EQ(r.parser.errorStatus(), 431);
  }
}

TEST(Http1ParserTest, ResponseToHeadHasNoBody) {
  Recorder r(Http1Parser::Type::kResponse);
  r.no_body = true;
  EXPECT_NE(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n"
                   "Content-Length: 0\r\n\r\n"),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.messages, 2);  // the 5 is not read as body: the next bytes are the next response
  EXPECT_EQ(r.body, "");
}

TEST(Http1ParserTest, NoBodyFor204And304) {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    Recorder r(Http1Parser::Type::kResponse);
    EXPECT_NE(r.feed(std::string("HTTP/1.1 ") + status +
                     "\r\n\r\nHTTP/1.1 200 OK\r\n"
                     "Content-Length: 2\r\n\r\nok"),
              Http1Parser::Result::kError);
    EXPECT_EQ(r.messages, 2) << status;
    EXPECT_EQ(r.body, "ok") << status;
  }
}

TEST(Http1ParserTest, ResponseDelimitedByClose) {
  Recorder r(Http1Parser::Type::kResponse);
  size_t consumed = 0;
  const std::string input = "HTTP/1.1 200 OK\r\n\r\npart one ";
  EXPECT_EQ(r.parser.execute(input.data(), input.size(), &consumed),
            Http1Parser::Result::kNeedMore);
  EXPECT_TRUE(r.parser.bodyUntilEof());
  // Already known when the head is reported: the proxy frames the body it forwards from there.
  EXPECT_TRUE(r.until_eof_at_head);
  EXPECT_EQ(r.parser.finish(), Http1Parser::Result::kPaused);
  EXPECT_EQ(r.messages, 1);
  EXPECT_EQ(r.body, "part one ");
}

TEST(Http1ParserTest, TruncatedChunkedResponseIsAnError) {
  Recorder r(Http1Parser::Type::kResponse);
  size_t consumed = 0;
  const std::string input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
  EXPECT_EQ(r.parser.execute(input.data(), input.size(), &consumed),
            Http1Parser::Result::kNeedMore);
  EXPECT_EQ(r.parser.finish(), Http1Parser::Result::kError);
  EXPECT_EQ(r.messages, 0);
}

// Found through fuzz_message_writer (a 101 re-parsed with the close that follows it): the end
// of the connection right after a complete response was reported as a message cut short.
TEST(Http1ParserTest, CloseRightAfterACompleteResponseIsNoError) {
  for (const std::string input :
       {"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 204 No Content\r\n\r\n"}) {
    for (size_t step : {size_t{1}, input.size()}) {
      Recorder r(Http1Parser::Type::kResponse);
      ASSERT_EQ(r.feed(input, step), Http1Parser::Result::kPaused) << input;
      EXPECT_EQ(r.parser.finish(), Http1Parser::Result::kNeedMore) << input;
      EXPECT_EQ(r.messages, 1);
    }
  }
  // Closed after an interim response: no final one came, but nothing was cut short either; the
  // owner knows that it still waits for a response.
  Recorder interim(Http1Parser::Type::kResponse);
  ASSERT_EQ(interim.feed("HTTP/1.1 100 Continue\r\n\r\n"), Http1Parser::Result::kPaused);
  EXPECT_EQ(interim.parser.finish(), Http1Parser::Result::kNeedMore);
}

TEST(Http1ParserTest, InterimResponsesAreSeparateMessages) {
  Recorder r(Http1Parser::Type::kResponse);
  EXPECT_NE(r.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.heads, 2);
  EXPECT_EQ(r.messages, 2);
  EXPECT_EQ(r.parser.statusCode(), 200);
  EXPECT_EQ(r.body, "ok");
}

TEST(Http1ParserTest, ContinuesAfterAnUpgradeThatWasNotTunnelled) {
  Recorder r(Http1Parser::Type::kRequest);
  EXPECT_NE(r.feed("GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                   "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
            Http1Parser::Result::kError);
  EXPECT_EQ(r.urls, (std::vector<std::string>{"/a", "/b"}));
}

TEST(Http1ParserTest, UpgradeRequestStopsAtTheHead) {
  Recorder r(Http1Parser::Type::kRequest);
  const std::string input =
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW";
  size_t consumed = 0;
  EXPECT_EQ(r.parser.execute(input.data(), input.size(), &consumed), Http1Parser::Result::kPaused);
  EXPECT_TRUE(r.parser.upgrade());
  EXPECT_EQ(input.substr(consumed), "RAW");
}

}  // namespace
}  // namespace sy::http
