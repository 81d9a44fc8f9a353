// Route templates ({host}{path}...) compiled once, expanded per request; header edits and the
// names a configuration may not touch; path strip/add/rewrite.

#include "http/value_template.h"

#include <string>

#include "gtest/gtest.h"
#include "http/header_edits.h"
#include "http/message_writer.h"
#include "http/path_rewrite.h"

namespace sy::http {
namespace {

TemplateValues shapingTestValues() {
  TemplateValues values;
  values.client_ip = "192.0.2.7";
  values.scheme = "https";
  values.host = "example.com";
  values.path = "/a/b?x=1";
  values.route = "api";
  values.pool = "blue";
  values.backend = "127.0.0.1:8081";
  values.request_id = "abc-123";
  return values;
}

std::string shapingTestExpand(std::string_view text) {
  absl::StatusOr<ValueTemplate> compiled = ValueTemplate::compile(text);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? compiled->expand(shapingTestValues()) : "";
}

TEST(ValueTemplateTest, ExpandsEveryVariable) {
  EXPECT_EQ(shapingTestExpand("https://{host}{path}"), "https://example.com/a/b?x=1");
  EXPECT_EQ(shapingTestExpand("{client_ip} {scheme} {route} {pool} {backend} {request_id}"),
            "192.0.2.7 https api blue 127.0.0.1:8081 abc-123");
  EXPECT_EQ(shapingTestExpand("prod"), "prod");
  EXPECT_EQ(shapingTestExpand(""), "");
  EXPECT_EQ(shapingTestExpand("{{literal}} }"), "{literal} }");
}

TEST(ValueTemplateTest, RefusesUnknownVariablesAndBadText) {
  const auto unknown = ValueTemplate::compile("x{hostname}");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown variable {hostname}"), std::string::npos)
      << unknown.status();
  EXPECT_NE(unknown.status().message().find("{client_ip}"), std::string::npos);
  EXPECT_FALSE(ValueTemplate::compile("{host").ok());
  EXPECT_FALSE(ValueTemplate::compile("a\r\nX-Evil: 1").ok());
  EXPECT_FALSE(ValueTemplate::compile("{}").ok());
}

TEST(ValueTemplateTest, KnowsWhichVariablesItUses) {
  const auto compiled = ValueTemplate::compile("by {backend}");
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE(compiled->uses(TemplateVariable::kBackend));
  EXPECT_FALSE(compiled->uses(TemplateVariable::kHost));
}

TEST(HeaderEditsTest, DropsCaseInsensitivelyAndSkipsEmptyValues) {
  HeaderEdits edits;
  edits.drop = {"x-debug"};
  edits.lines.push_back({"X-Served-By", *ValueTemplate::compile("{backend}")});
  edits.lines.push_back({"X-Empty", *ValueTemplate::compile("{pool}")});
  EXPECT_TRUE(edits.drops("X-Debug"));
  EXPECT_FALSE(edits.drops("X-Debugger"));
  TemplateValues values = shapingTestValues();
  values.pool = "";
  std::string out;
  edits.appendLines(values, &out);
  EXPECT_EQ(out, "X-Served-By: 127.0.0.1:8081\r\n");
}

TEST(HeaderEditsTest, FramingAndHopByHopHeadersAreNotEditable) {
  for (const char* name : {"Connection", "keep-alive", "Transfer-Encoding", "Content-Length",
                           "Upgrade", "TE", "Trailer", "Proxy-Connection"}) {
    for (const auto direction : {HeaderDirection::kRequest, HeaderDirection::kResponse}) {
      for (const auto op : {HeaderOp::kSet, HeaderOp::kAdd, HeaderOp::kRemove}) {
        const absl::Status status = checkEditableHeader(name, direction, op);
        EXPECT_FALSE(status.ok()) << name;
        EXPECT_NE(status.message().find(name), std::string::npos) << status;
      }
    }
  }
  EXPECT_TRUE(checkEditableHeader("Host", HeaderDirection::kRequest, HeaderOp::kSet).ok());
  EXPECT_FALSE(checkEditableHeader("Host", HeaderDirection::kRequest, HeaderOp::kRemove).ok());
  EXPECT_FALSE(checkEditableHeader("Host", HeaderDirection::kRequest, HeaderOp::kAdd).ok());
  EXPECT_FALSE(checkEditableHeader("host", HeaderDirection::kResponse, HeaderOp::kSet).ok());
  EXPECT_TRUE(checkEditableHeader("X-Env", HeaderDirection::kRequest, HeaderOp::kAdd).ok());
  EXPECT_TRUE(checkEditableHeader("Server", HeaderDirection::kResponse, HeaderOp::kRemove).ok());
}

std::string shapingTestApply(const PathRewrite& rewrite, std::string_view target) {
  std::string out;
  rewrite.apply(target, &out);
  return out;
}

TEST(PathRewriteTest, StripPrefixAsNginxProxyPassWithUri) {
  PathRewrite rewrite;
  rewrite.setStripPrefix("/api");
  EXPECT_EQ(shapingTestApply(rewrite, "/api/users?id=3"), "/users?id=3");
  EXPECT_EQ(shapingTestApply(rewrite, "/api"), "/");
  EXPECT_EQ(shapingTestApply(rewrite, "/api/"), "/");
  EXPECT_EQ(shapingTestApply(rewrite, "/api?q"), "/?q");
  EXPECT_EQ(shapingTestApply(rewrite, "/apix/y"), "/apix/y");
  EXPECT_EQ(shapingTestApply(rewrite, "/other"), "/other");
  PathRewrite slash;
  slash.setStripPrefix("/api/");
  EXPECT_EQ(shapingTestApply(slash, "/api/users"), "/users");
}

TEST(PathRewriteTest, AddPrefixAfterStrip) {
  PathRewrite rewrite;
  rewrite.setStripPrefix("/api");
  rewrite.setAddPrefix("/v2/");
  EXPECT_EQ(shapingTestApply(rewrite, "/api/users?x"), "/v2/users?x");
  EXPECT_EQ(shapingTestApply(rewrite, "/api"), "/v2/");
}

TEST(PathRewriteTest, RegexRewriteWithCapturesKeepsTheQuery) {
  PathRewrite rewrite;
  ASSERT_TRUE(rewrite.setRewrite("^/old/(.*)$", "/new/\\1").ok());
  EXPECT_EQ(shapingTestApply(rewrite, "/old/a/b?x=1"), "/new/a/b?x=1");
  EXPECT_EQ(shapingTestApply(rewrite, "/other"), "/other");
  PathRewrite swap;
  ASSERT_TRUE(swap.setRewrite("^/u/([0-9]+)/(\\w+)$", "/\\2/\\1").ok());
  EXPECT_EQ(shapingTestApply(swap, "/u/42/posts"), "/posts/42");
  PathRewrite relative;
  ASSERT_TRUE(relative.setRewrite("^/x/(.*)$", "\\1").ok());
  EXPECT_EQ(shapingTestApply(relative, "/x/y"), "/y");  // always origin-form
}

TEST(PathRewriteTest, RefusesBadPatternsAndMissingGroups) {
  PathRewrite rewrite;
  EXPECT_FALSE(rewrite.setRewrite("^/(unclosed$", "/").ok());
  const absl::Status missing = rewrite.setRewrite("^/a/(.*)$", "/\\2");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("replacement"), std::string::npos) << missing;
}

class ShapingHeadParser final : public ParserCallbacks {
 public:
  explicit ShapingHeadParser(const std::string& input) : parser(Http1Parser::Type::kRequest, this) {
    size_t consumed = 0;
    EXPECT_NE(parser.execute(input.data(), input.size(), &consumed), Http1Parser::Result::kError);
  }
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char*, size_t) override {}
  void onMessageComplete() override {}
  Http1Parser parser;
};

TEST(HeaderEditsTest, RequestHeadDropsSetsAndReplacesTheProxysOwnHeaders) {
  ShapingHeadParser request(
      "GET /a HTTP/1.1\r\nHost: example.com\r\nX-Env: dev\r\nX-Debug: 1\r\n"
      "X-Forwarded-Proto: gopher\r\nAccept: */*\r\n\r\n");
  HeaderEdits edits;
  edits.drop = {"x-env", "x-debug", "x-forwarded-proto", "host", "x-real-ip"};
  edits.lines.push_back({"X-Env", *ValueTemplate::compile("prod")});
  edits.lines.push_back({"X-Forwarded-Proto", *ValueTemplate::compile("https")});
  edits.lines.push_back({"Host", *ValueTemplate::compile("internal.{host}")});
  const TemplateValues values = shapingTestValues();
  UpstreamRequestOptions options;
  options.client_ip = "192.0.2.7";
  options.edits = &edits;
  options.values = &values;
  std::string head;
  buildUpstreamRequestHead(request.parser, options, &head);
  EXPECT_EQ(head,
            "GET /a HTTP/1.1\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\n"
            "X-Env: prod\r\nX-Forwarded-Proto: https\r\nHost: internal.example.com\r\n\r\n");
}

}  // namespace
}  // namespace sy::http
