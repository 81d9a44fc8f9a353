#include "http/message_writer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "http/local_reply.h"

namespace sy::http {
namespace {

class HeadOnly final : public ParserCallbacks {
 public:
  explicit HeadOnly(Http1Parser::Type type) : parser(type, this) {}
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char*, size_t) override {}
  void onMessageComplete() override {}
  void parse(const std::string& input) {
    size_t consumed = 0;
    ASSERT_NE(parser.execute(input.data(), input.size(), &consumed), Http1Parser::Result::kError)
        << parser.errorReason();
  }
  Http1Parser parser;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MessageWriterTest, RequestHeadDropsHopByHopAndAddsForwardingHeaders) {
  HeadOnly request(Http1Parser::Type::kRequest);
  request.parse(
      "GET /x?y HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers\r\nProxy-Authorization: basic x\r\n"
      "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 6.6.6.6\r\n"
      "Accept: */*\r\n\r\n");
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "192.0.2.7";
  buildUpstreamRequestHead(request.parser, options, &head);
  EXPECT_EQ(head.rfind("GET /x?y HTTP/1.1\r\n", 0), 0u) << head;
  EXPECT_TRUE(contains(head, "Host: example.com\r\n"));
  EXPECT_TRUE(contains(head, "Accept: */*\r\n"));
  EXPECT_TRUE(contains(head, "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"));
  EXPECT_TRUE(contains(head, "X-Forwarded-Proto: http\r\n"));
  EXPECT_TRUE(contains(head, "X-Real-IP: 192.0.2.7\r\n"));
  for (const char* dropped :
       {"Connection", "Keep-Alive", "X-Secret", "TE:", "Proxy-Authorization", "https", "6.6.6.6"}) {
    EXPECT_FALSE(contains(head, dropped)) << dropped << " leaked into:\n" << head;
  }
  EXPECT_TRUE(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
}

// Found by fuzz/fuzz_message_writer: "Connection: content-length" made the proxy forward the body
// without its Content-Length, so the backend took the body for the next request.
TEST(MessageWriterTest, ConnectionCannotStripContentLengthOrHost) {
  HeadOnly request(Http1Parser::Type::kRequest);
  request.parse(
      "POST / HTTP/1.1\r\nHost: a.test\r\nConnection: content-length, host, x-a\r\n"
      "X-A: 1\r\nContent-Length: 3\r\n\r\n");
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "192.0.2.7";
  options.host_fallback = "pool-a";
  buildUpstreamRequestHead(request.parser, options, &head);
  EXPECT_TRUE(contains(head, "Content-Length: 3\r\n")) << head;
  EXPECT_TRUE(contains(head, "Host: a.test\r\n")) << head;
  EXPECT_FALSE(contains(head, "pool-a")) << head;
  EXPECT_FALSE(contains(head, "X-A")) << head;

  HeadOnly response(Http1Parser::Type::kResponse);
  response.parse("HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\n");
  buildDownstreamResponseHead(response.parser, DownstreamResponseOptions{}, &head);
  EXPECT_TRUE(contains(head, "Content-Length: 2\r\n")) << head;
}

TEST(MessageWriterTest, RequestHeadKeepsFramingAndUpgrade) {
  HeadOnly chunked(Http1Parser::Type::kRequest);
  chunked.parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "127.0.0.1";
  buildUpstreamRequestHead(chunked.parser, options, &head);
  EXPECT_TRUE(contains(head, "Transfer-Encoding: chunked\r\n"));

  HeadOnly upgrade(Http1Parser::Type::kRequest);
  upgrade.parse("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  options.tunnel = true;
  buildUpstreamRequestHead(upgrade.parser, options, &head);
  EXPECT_TRUE(contains(head, "Upgrade: websocket\r\n"));
  EXPECT_TRUE(contains(head, "Connection: upgrade\r\n"));

  HeadOnly old(Http1Parser::Type::kRequest);
  old.parse("GET / HTTP/1.0\r\n\r\n");
  options.tunnel = false;
  options.host_fallback = "10.1.1.1:80";
  buildUpstreamRequestHead(old.parser, options, &head);
  EXPECT_EQ(head.rfind("GET / HTTP/1.1\r\n", 0), 0u);
  EXPECT_TRUE(contains(head, "Host: 10.1.1.1:80\r\n"));
}

TEST(MessageWriterTest, HostSuffixGoesBeforeThePortAndNeverAfterAnIpLiteral) {
  struct Case {
    const char* host;
    const char* expected;
  } cases[] = {
      {"app.test", "Host: app.test-shadow\r\n"},
      {"app.test:8080", "Host: app.test-shadow:8080\r\n"},
      {"[::1]:8080", "Host: [::1]:8080\r\n"},
      {"[::1]", "Host: [::1]\r\n"},
  };
  for (const Case& c : cases) {
    HeadOnly request(Http1Parser::Type::kRequest);
    request.parse(std::string("GET / HTTP/1.1\r\nHost: ") + c.host + "\r\n\r\n");
    std::string head;
    UpstreamRequestOptions options;
    options.client_ip = "127.0.0.1";
    options.host_suffix = "-shadow";
    buildUpstreamRequestHead(request.parser, options, &head);
    EXPECT_TRUE(contains(head, c.expected)) << c.host << " gave:\n" << head;
  }
}

TEST(MessageWriterTest, DropHeaderRemovesEveryFieldOfThatName) {
  HeadOnly request(Http1Parser::Type::kRequest);
  request.parse(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Switchyard-Mirror: 1\r\nx-switchyard-mirror: 0\r\n"
      "X-Switchyard-Mirrored: kept\r\n\r\n");
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "127.0.0.1";
  options.drop_header = "X-Switchyard-Mirror";
  buildUpstreamRequestHead(request.parser, options, &head);
  EXPECT_FALSE(contains(head, "X-Switchyard-Mirror:")) << head;
  EXPECT_FALSE(contains(head, "x-switchyard-mirror:")) << head;
  EXPECT_TRUE(contains(head, "X-Switchyard-Mirrored: kept\r\n")) << head;
}

TEST(MessageWriterTest, ResponseHeadFraming) {
  HeadOnly response(Http1Parser::Type::kResponse);
  response.parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
      "Server: origin\r\n\r\n");
  std::string head;
  DownstreamResponseOptions options;
  options.chunked_body = true;
  buildDownstreamResponseHead(response.parser, options, &head);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_TRUE(contains(head, "Transfer-Encoding: chunked\r\n"));
  EXPECT_TRUE(contains(head, "Server: origin\r\n"));
  EXPECT_FALSE(contains(head, "X-Hop"));
  EXPECT_FALSE(contains(head, "Connection"));

  options.chunked_body = false;
  options.keep_alive = false;
  buildDownstreamResponseHead(response.parser, options, &head);
  EXPECT_TRUE(contains(head, "Connection: close\r\n"));
  EXPECT_FALSE(contains(head, "Transfer-Encoding"));

  options.keep_alive = true;
  options.client_http11 = false;
  buildDownstreamResponseHead(response.parser, options, &head);
  EXPECT_TRUE(contains(head, "Connection: keep-alive\r\n"));
}

TEST(MessageWriterTest, ResponseFieldsForAClientThatFramesItself) {
  HeadOnly response(Http1Parser::Type::kResponse);
  response.parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
      "Server: origin\r\nX-Drop: gone\r\nKeep-Alive: timeout=5\r\n\r\n");
  HeaderEdits edits;
  edits.drop = {"x-drop"};
  absl::StatusOr<ValueTemplate> route_template = ValueTemplate::compile("{route}");
  ASSERT_TRUE(route_template.ok()) << route_template.status();
  edits.lines.push_back({"X-Route", *route_template});
  TemplateValues values;
  values.route = "web";
  DownstreamResponseOptions options;
  options.edits = &edits;
  options.values = &values;
  options.chunked_body = true;  // ignored: the client frames the body itself
  options.keep_alive = false;   // ignored: no Connection field
  options.extra_headers = "X-Pool: blue\r\nConnection: close\r\nX-Empty:\r\n";
  std::string scratch;
  std::vector<std::string> fields;
  forEachDownstreamResponseField(response.parser, options, &scratch,
                                 [&](std::string_view name, std::string_view value) {
                                   fields.push_back(std::string(name) + "=" + std::string(value));
                                 });
  EXPECT_EQ(fields,
            (std::vector<std::string>{"Server=origin", "X-Route=web", "X-Pool=blue", "X-Empty="}));
}

// An interim response (103) gets the backend's fields only: the route's edits are for the final
// head, on both forms (HTTP/1.1 text and HTTP/2 fields).
TEST(MessageWriterTest, InterimResponseFieldsLeaveTheEditsToTheFinalHead) {
  HeadOnly response(Http1Parser::Type::kResponse);
  response.parse(
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Drop: kept\r\n"
      "Connection: keep-alive\r\n\r\n");
  HeaderEdits edits;
  edits.drop = {"x-drop"};
  absl::StatusOr<ValueTemplate> route_template = ValueTemplate::compile("{route}");
  ASSERT_TRUE(route_template.ok()) << route_template.status();
  edits.lines.push_back({"X-Route", *route_template});
  TemplateValues values;
  values.route = "web";
  DownstreamResponseOptions options;
  options.interim = true;
  options.edits = &edits;
  options.values = &values;
  std::string scratch;
  std::vector<std::string> fields;
  forEachDownstreamResponseField(response.parser, options, &scratch,
                                 [&](std::string_view name, std::string_view value) {
                                   fields.push_back(std::string(name) + "=" + std::string(value));
                                 });
  EXPECT_EQ(fields, (std::vector<std::string>{"Link=</a.css>; rel=preload", "X-Drop=kept"}));
  std::string head;
  buildDownstreamResponseHead(response.parser, options, &head);
  EXPECT_EQ(head,
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Drop: kept\r\n\r\n");
}

TEST(MessageWriterTest, HopByHopNames) {
  for (const char* name : {"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding",
                           "Upgrade", "Proxy-Connection", "proxy-authenticate"}) {
    EXPECT_TRUE(isHopByHopHeader(name)) << name;
  }
  for (const char* name : {"Host", "Content-Length", "Cookie", "Trailers", "X-Proxy"}) {
    EXPECT_FALSE(isHopByHopHeader(name)) << name;
  }
}

TEST(MessageWriterTest, ChunkHeader) {
  char buffer[24];
  EXPECT_EQ(std::string(buffer, formatChunkHeader(255, buffer)), "ff\r\n");
  EXPECT_EQ(std::string(buffer, formatChunkHeader(1, buffer)), "1\r\n");
}

TEST(LocalReplyTest, ShortReplyWithServerHeaderAndLength) {
  const std::string reply =
      makeLocalReply(502, "cannot connect", true, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(reply.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u);
  EXPECT_TRUE(contains(reply, "Server: switchyard\r\n"));
  EXPECT_TRUE(contains(reply, "Connection: close\r\n"));
  const std::string body = "502 Bad Gateway: cannot connect\n";
  EXPECT_TRUE(contains(reply, "Content-Length: " + std::to_string(body.size()) + "\r\n"));
  EXPECT_EQ(reply.substr(reply.size() - body.size()), body);
  const std::string head = makeLocalReply(404, "", false, "d", /*head_request=*/true);
  EXPECT_FALSE(contains(head, "Connection: close"));
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(HeaderBlockTest, CookieLookup) {
  HeadOnly request(Http1Parser::Type::kRequest);
  request.parse(
      "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; session=abc; b=2\r\nCookie: c=3\r\n\r\n");
  EXPECT_EQ(findCookie(request.parser.headers(), "session").value_or(""), "abc");
  EXPECT_EQ(findCookie(request.parser.headers(), "c").value_or(""), "3");
  EXPECT_FALSE(findCookie(request.parser.headers(), "sess").has_value());
}

}  // namespace
}  // namespace sy::http
