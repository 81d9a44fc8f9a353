// The parser's edge-safety rules (issue 10), each fed whole and split at every byte boundary:
// bare CR never ends a line, only HTTP/1.0 and 1.1 pass, 1xx/204/304 responses end at the head,
// and fields a proxy would otherwise forward verbatim (empty names, bad Host, doubled chunked)
// are refused.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "http/head_rules.h"
#include "http/http1_parser.h"

namespace sy::http {
namespace {

struct Outcome {
  Http1Parser::Result result = Http1Parser::Result::kNeedMore;
  int error_status = 0;
  int heads = 0;
  int messages = 0;
  bool keep_alive = true;
  std::string body;
  std::string consumed_tail;  // input left after the first complete message
};

class Collector final : public ParserCallbacks {
 public:
  explicit Collector(Http1Parser::Type type) : parser(type, this) {}
  HeadAction onHeadComplete() override {
    ++heads;
    keep_alive = parser.keepAlive();
    return kProceed;
  }
  void onBody(const char* data, size_t length) override { body.append(data, length); }
  void onMessageComplete() override { ++messages; }
  Http1Parser parser;
  int heads = 0;
  int messages = 0;
  bool keep_alive = true;
  std::string body;
};

// Feeds `input` in pieces cut at `cuts` (offsets), stopping at the first complete message or
// error; returns what the parser made of it.
Outcome parseFirst(Http1Parser::Type type, const std::string& input, std::vector<size_t> cuts) {
  Collector c(type);
  cuts.push_back(input.size());
  Outcome out;
  size_t offset = 0;
  for (size_t cut : cuts) {
    while (offset < cut) {
      size_t consumed = 0;
      out.result = c.parser.execute(input.data() + offset, cut - offset, &consumed);
      offset += consumed;
      if (out.result == Http1Parser::Result::kError) {
        out.error_status = c.parser.errorStatus();
        out.heads = c.heads;
        return out;
      }
      if (out.result == Http1Parser::Result::kPaused) {
        out.heads = c.heads;
        out.messages = c.messages;
        out.keep_alive = c.keep_alive;
        out.body = c.body;
        out.consumed_tail = input.substr(offset);
        return out;
      }
    }
  }
  out.heads = c.heads;
  out.messages = c.messages;
  out.body = c.body;
  return out;
}

// Every way to cut the input in two, plus whole and one byte at a time.
std::vector<std::vector<size_t>> everySplit(const std::string& input) {
  std::vector<std::vector<size_t>> splits = {{}};
  for (size_t i = 1; i < input.size(); ++i) splits.push_back({i});
  std::vector<size_t> bytewise;
  for (size_t i = 1; i < input.size(); ++i) bytewise.push_back(i);
  splits.push_back(bytewise);
  return splits;
}

void expectRefusedEverywhere(Http1Parser::Type type, const std::string& input, int status) {
  for (const std::vector<size_t>& cuts : everySplit(input)) {
    const Outcome out = parseFirst(type, input, cuts);
    ASSERT_EQ(out.result, Http1Parser::Result::kError)
        << "accepted: " << testing::PrintToString(input) << " cut at "
        << (cuts.empty() ? 0 : cuts[0]);
    EXPECT_EQ(out.error_status, status) << testing::PrintToString(input);
  }
}

constexpr auto kRequest = Http1Parser::Type::kRequest;
constexpr auto kResponse = Http1Parser::Type::kResponse;

TEST(EdgeRulesTest, BareCrIsNeverALineEndingInARequest) {
  for (const std::string input : {
           "GET /1 HTTP/1.1\r\nHost: a\r\n\rXGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
           "\r\nabc",
           "GET / HTTP/1.1\rHost: a\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
           "chunked\r\n\r\n3\rX\r\nabc\r\n0\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\rX\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx: "
           "y\r\n"
           "\rX",
       }) {
    expectRefusedEverywhere(kRequest, input, 400);
  }
}

TEST(EdgeRulesTest, BareCrIsNeverALineEndingInAResponse) {
  for (const std::string input : {
           "HTTP/1.1 200 OK\rXContent-Length: 2\r\n\r\nok",
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\rXok",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\rX\r\nok\r\n0\r\n\r\n",
       }) {
    expectRefusedEverywhere(kResponse, input, 502);
  }
}

TEST(EdgeRulesTest, OnlyHttp10And11RequestLinesPass) {
  expectRefusedEverywhere(kRequest, "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
  expectRefusedEverywhere(kRequest, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
  // llhttp's strict parser knows no HTTP/1.2 at all: a malformed line, 400.
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET / RTSP/1.0\r\nHost: a\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET /\r\n\r\n", 400);
  expectRefusedEverywhere(kResponse, "RTSP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502);
  expectRefusedEverywhere(kResponse, "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502);
  for (const std::string input : {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    for (const std::vector<size_t>& cuts : everySplit(input)) {
      EXPECT_EQ(parseFirst(kRequest, input, cuts).result, Http1Parser::Result::kPaused) << input;
    }
  }
}

TEST(EdgeRulesTest, ControlCharactersInTheTargetAreRefused) {
  expectRefusedEverywhere(kRequest, "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET /a\fb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

TEST(EdgeRulesTest, AsteriskFormIsForOptionsOnly) {
  expectRefusedEverywhere(kRequest, "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  const std::string options = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(parseFirst(kRequest, options, {}).result, Http1Parser::Result::kPaused);
}

// Feeds `input` cut at `cuts` and records each request's method name and byte count.
struct Seen {
  std::vector<std::string> methods;
  std::vector<uint64_t> bytes;
  std::string body;
  int error_status = 0;
};
Seen parseAll(const std::string& input, std::vector<size_t> cuts) {
  struct Methods final : ParserCallbacks {
    Methods() : parser(kRequest, this) {}
    HeadAction onHeadComplete() override {
      seen.methods.emplace_back(parser.methodName());
      return kProceed;
    }
    void onBody(const char* data, size_t length) override { seen.body.append(data, length); }
    void onMessageComplete() override {}
    Http1Parser parser;
    Seen seen;
  } m;
  cuts.push_back(input.size());
  size_t offset = 0;
  for (size_t cut : cuts) {
    while (offset < cut) {
      size_t consumed = 0;
      const auto result = m.parser.execute(input.data() + offset, cut - offset, &consumed);
      offset += consumed;
      if (result == Http1Parser::Result::kError) {
        m.seen.error_status = m.parser.errorStatus();
        return m.seen;
      }
      if (result == Http1Parser::Result::kPaused) {
        m.seen.bytes.push_back(m.parser.messageBytes());
        m.parser.resume();
      }
    }
  }
  return m.seen;
}

// Found by fuzz_request_parser: an empty value folded onto the next line was taken when a read
// ended right after the line break.
TEST(EdgeRulesTest, AFoldedEmptyValueIsRefusedInEverySplit) {
  expectRefusedEverywhere(
      kRequest, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
      400);
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\t  b\r\n\r\n", 400);
}

// Found by fuzz_response_parser: llhttp lets NUL and other control bytes into a reason phrase.
TEST(EdgeRulesTest, ControlBytesInAReasonPhraseAreRefused) {
  for (const std::string& reason :
       {std::string("O\x01K"), std::string("O\0K", 3), std::string("\x7f")}) {
    expectRefusedEverywhere(kResponse, "HTTP/1.1 200 " + reason + "\r\nContent-Length: 0\r\n\r\n",
                            502);
  }
  const std::string tab = "HTTP/1.1 200 O\tK \xe9\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(parseFirst(kResponse, tab, {}).result, Http1Parser::Result::kPaused);
}

// Found by fuzz_request_parser: llhttp skips a lone CR before a request line.
TEST(EdgeRulesTest, ABareCrBeforeTheRequestLineIsRefused) {
  expectRefusedEverywhere(kRequest, "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "\r\n\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "\r\rQUERY / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  const std::string empty_lines = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (const std::vector<size_t>& cuts : everySplit(empty_lines)) {
    EXPECT_EQ(parseFirst(kRequest, empty_lines, cuts).result, Http1Parser::Result::kPaused);
  }
}

// Found by fuzz_response_parser: llhttp skips lone CRs before a status line too, at the start
// of the connection and between responses (after a 100 Continue). The backend connection is
// then closed and the client gets a 502.
TEST(EdgeRulesTest, ABareCrBeforeTheStatusLineIsRefused) {
  expectRefusedEverywhere(kResponse, "\rHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 502);
  expectRefusedEverywhere(kResponse, "\r\rHTTP/1.0 200 OK\r\n\r\nok", 502);
  expectRefusedEverywhere(kResponse, "\r\n\r\rHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 502);
  const std::string after_continue =
      "HTTP/1.1 100 Continue\r\n\r\n\r\rHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (const std::vector<size_t>& cuts : everySplit(after_continue)) {
    Collector c(kResponse);
    Http1Parser::Result result = Http1Parser::Result::kNeedMore;
    size_t offset = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(after_continue.size());
    for (size_t cut : ends) {
      while (offset < cut && result != Http1Parser::Result::kError) {
        size_t consumed = 0;
        result = c.parser.execute(after_continue.data() + offset, cut - offset, &consumed);
        offset += consumed;
        if (result == Http1Parser::Result::kPaused) c.parser.resume();
        if (result == Http1Parser::Result::kNeedMore) break;
      }
    }
    ASSERT_EQ(result, Http1Parser::Result::kError) << "cut at " << (cuts.empty() ? 0 : cuts[0]);
    EXPECT_EQ(c.parser.errorStatus(), 502);
    EXPECT_EQ(c.messages, 1);  // the 100 Continue only
  }
  // Empty lines (CRLF or LF alone) before a status line are still skipped.
  const std::string empty_lines = "\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (const std::vector<size_t>& cuts : everySplit(empty_lines)) {
    EXPECT_EQ(parseFirst(kResponse, empty_lines, cuts).result, Http1Parser::Result::kPaused);
  }
}

// Found by fuzz_request_parser: llhttp tunnels what follows a CONNECT head even when the head
// announced a body (RFC 9110 §9.3.6: a CONNECT request has no content). Announcing one frames
// the next bytes two ways: refused.
TEST(EdgeRulesTest, ACONNECTWithContentIsRefused) {
  expectRefusedEverywhere(
      kRequest, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nContent-Length: 3\r\n\r\nabc",
      400);
  expectRefusedEverywhere(kRequest,
                          "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                          400);
  // Without content, or with Content-Length: 0: parsed (the proxy then answers 405 itself).
  for (const std::string input :
       {"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n",
        "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nContent-Length: 0\r\n\r\n"}) {
    for (const std::vector<size_t>& cuts : everySplit(input)) {
      EXPECT_EQ(parseFirst(kRequest, input, cuts).result, Http1Parser::Result::kPaused) << input;
    }
  }
}

TEST(EdgeRulesTest, ExtensionMethodsAreParsedWithTheirOwnName) {
  // RFC 9110 §9.1: any token is a method. QUERY is not in llhttp 8.1.0's table.
  const std::string first = "QUERY /q HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string third = "BASELINE-CONTROL /c HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string input = first + second + third;
  for (const std::vector<size_t>& cuts : everySplit(input)) {
    const Seen seen = parseAll(input, cuts);
    ASSERT_EQ(seen.error_status, 0) << "cut at " << (cuts.empty() ? 0 : cuts[0]);
    EXPECT_EQ(seen.methods, (std::vector<std::string>{"QUERY", "GET", "BASELINE-CONTROL"}));
    EXPECT_EQ(seen.body, "abc");
    // Bytes as received: the extension method counts with its own length, not "POST"'s; the
    // empty line before the GET belongs to no request.
    EXPECT_EQ(seen.bytes, (std::vector<uint64_t>{first.size(), second.size() - 2, third.size()}));
  }
}

TEST(EdgeRulesTest, AnExtensionMethodReadsAsNeitherSafeNorIdempotent) {
  struct One final : ParserCallbacks {
    One() : parser(kRequest, this) {}
    HeadAction onHeadComplete() override {
      method = parser.method();
      return kProceed;
    }
    void onBody(const char*, size_t) override {}
    void onMessageComplete() override {}
    Http1Parser parser;
    llhttp_method_t method = HTTP_GET;
  } one;
  const std::string input = "PROPGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t consumed = 0;
  ASSERT_EQ(one.parser.execute(input.data(), input.size(), &consumed),
            Http1Parser::Result::kPaused);
  EXPECT_EQ(one.method, HTTP_POST);  // retried like a POST: never
  EXPECT_EQ(one.parser.methodName(), "PROPGET");
}

TEST(EdgeRulesTest, MethodsThatAreNotUpperCaseTokensAreRefused) {
  for (const std::string input : {
           "get / HTTP/1.1\r\nHost: a\r\n\r\n",     // methods are case-sensitive
           "Q(UERY / HTTP/1.1\r\nHost: a\r\n\r\n",  // not a token
           " GET / HTTP/1.1\r\nHost: a\r\n\r\n",    // no method
           "QUERY\t/ HTTP/1.1\r\nHost: a\r\n\r\n",  // the separator is one SP
           "GETTTTTTTTTTTTTTTTTTTTTTTTTTTT / HTTP/1.1\r\nHost: a\r\n\r\n",  // too long
       }) {
    expectRefusedEverywhere(kRequest, input, 400);
  }
}

TEST(EdgeRulesTest, ARequestCutInsideItsMethodIsIncompleteAtTheEnd) {
  struct Nothing final : ParserCallbacks {
    Nothing() : parser(kRequest, this) {}
    HeadAction onHeadComplete() override { return kProceed; }
    void onBody(const char*, size_t) override {}
    void onMessageComplete() override {}
    Http1Parser parser;
  } n;
  size_t consumed = 0;
  ASSERT_EQ(n.parser.execute("QUE", 3, &consumed), Http1Parser::Result::kNeedMore);
  EXPECT_EQ(consumed, 3u);
  EXPECT_TRUE(n.parser.inMessage());  // timers treat it as a request under way, not idle
  EXPECT_EQ(n.parser.finish(), Http1Parser::Result::kError);
  EXPECT_EQ(n.parser.errorStatus(), 400);
}

TEST(EdgeRulesTest, ConnectionCloseWithTrailingTabEndsTheConnection) {
  const std::string input =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\t\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  for (const std::vector<size_t>& cuts : everySplit(input)) {
    const Outcome out = parseFirst(kRequest, input, cuts);
    ASSERT_EQ(out.result, Http1Parser::Result::kPaused);
    EXPECT_FALSE(out.keep_alive);
  }
}

TEST(EdgeRulesTest, Http10WithTransferEncodingIsReadChunkedThenClosed) {
  const std::string input =
      "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  const Outcome out = parseFirst(kRequest, input, {});
  ASSERT_EQ(out.result, Http1Parser::Result::kPaused);
  EXPECT_EQ(out.body, "hello");
  EXPECT_FALSE(out.keep_alive);
}

TEST(EdgeRulesTest, InvalidFieldsAreRefused) {
  expectRefusedEverywhere(
      kRequest,
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello", 400);
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
  expectRefusedEverywhere(kRequest, "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400);
  expectRefusedEverywhere(
      kRequest,
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400);
  expectRefusedEverywhere(
      kResponse, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 502);
}

// Found by fuzz_message_writer: the authority of an absolute-form target replaces Host (RFC 9112
// §3.2.2) and went to the backend unchecked, as "Host: b.test:808[0".
TEST(EdgeRulesTest, AnAbsoluteFormTargetNeedsAValidHost) {
  for (const std::string target :
       {"http://b.test:808[0/p", "http:///p", "http://a\"b/", "http://?q", "http://user@/p"}) {
    expectRefusedEverywhere(kRequest, "GET " + target + " HTTP/1.1\r\nHost: a.test\r\n\r\n", 400);
  }
  // The '@' in the last one is in the path: its host is "a".
  for (const std::string target : {"http://b.test:8080/p?q=1", "http://[::1]:80/", "http://b.test",
                                   "https://user@b.test/", "http://a/b@c:x/"}) {
    const std::string input = "GET " + target + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
    EXPECT_EQ(parseFirst(kRequest, input, {}).result, Http1Parser::Result::kPaused) << target;
  }
}

// Optional whitespace after a framing value: trailing SP is read as the RFC says; a trailing
// HTAB is refused by llhttp (documented in REFERENCE.md §4.1 as deliberately strict).
TEST(EdgeRulesTest, TrailingWhitespaceAfterFramingValues) {
  const Outcome spaced =
      parseFirst(kRequest, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 \r\n\r\nhello", {});
  ASSERT_EQ(spaced.result, Http1Parser::Result::kPaused);
  EXPECT_EQ(spaced.body, "hello");
  expectRefusedEverywhere(kRequest,
                          "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\t\r\n\r\nhello", 400);
}

TEST(EdgeRulesTest, StatusOutside100To599IsRefused) {
  expectRefusedEverywhere(kResponse, "HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n", 502);
  expectRefusedEverywhere(kResponse, "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", 502);
}

TEST(EdgeRulesTest, ResponsesWithoutBodiesEndAtTheHeadWhateverTheirHeaders) {
  // A 304 may carry the representation's Content-Length (RFC 9110 §8.6); what follows it is not
  // its body.
  const std::string forged =
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 44\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";
  for (const std::vector<size_t>& cuts : everySplit(forged)) {
    const Outcome out = parseFirst(kResponse, forged, cuts);
    ASSERT_EQ(out.result, Http1Parser::Result::kPaused);
    EXPECT_EQ(out.body, "");
    EXPECT_EQ(out.consumed_tail.rfind("HTTP/1.1 200 OK", 0), 0u) << out.consumed_tail;
  }
  const Outcome no_content = parseFirst(
      kResponse, "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", {});
  ASSERT_EQ(no_content.result, Http1Parser::Result::kPaused);
  EXPECT_EQ(no_content.body, "");
  EXPECT_EQ(no_content.consumed_tail, "5\r\nhello\r\n");
}

TEST(HeadRulesTest, HostValues) {
  for (std::string_view good : {"a", "example.com", "example.com:8080", "[::1]", "[::1]:80",
                                "a-b.c_d~e", "xn--bcher-kva.example", "", "a:"}) {
    EXPECT_TRUE(isValidHostValue(good)) << good;
  }
  for (std::string_view bad :
       {"a b", "a/b", "a@b", "[::1", "[]", "[::1]x", "a:8x", "a\tb", "a?b", "a#b", "\"a\""}) {
    EXPECT_FALSE(isValidHostValue(bad)) << bad;
  }
}

}  // namespace
}  // namespace sy::http
