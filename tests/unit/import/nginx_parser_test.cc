#include "import/nginx_parser.h"

#include "gtest/gtest.h"

namespace sy::importer {
namespace {

TEST(NginxParserTest, BuildsNestedBlocks) {
  ParseResult result = parseNginxText(R"(
events { worker_connections 64; }
http {
  upstream app { server 10.0.0.1:80 weight=2; }
  server {
    listen 8080;
    location /api/ { location /api/v2/ { proxy_pass http://app; } }
  }
})",
                                      "n.conf");
  ASSERT_FALSE(result.error) << result.error->format();
  ASSERT_EQ(result.directives.size(), 2u);
  const NginxDirective& http = result.directives[1];
  EXPECT_EQ(http.name, "http");
  EXPECT_TRUE(http.has_block);
  ASSERT_EQ(http.block.size(), 2u);
  EXPECT_EQ(http.block[0].args[0].text, "app");
  EXPECT_EQ(http.block[0].block[0].argsText(), "10.0.0.1:80 weight=2");
  const NginxDirective& inner = http.block[1].block[1].block[0];
  EXPECT_EQ(inner.name, "location");
  EXPECT_EQ(inner.args[0].text, "/api/v2/");
  EXPECT_EQ(inner.block[0].name, "proxy_pass");
  EXPECT_EQ(inner.position.line, 7);
  EXPECT_EQ(inner.position.file, "n.conf");
}

TEST(NginxParserTest, EmptyBlocksAndQuotedNames) {
  ParseResult result = parseNginxText("events {}\n\"worker_processes\" 1;", "n.conf");
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.directives.size(), 2u);
  EXPECT_TRUE(result.directives[0].block.empty());
  EXPECT_EQ(result.directives[1].name, "worker_processes");
}

struct ErrorCase {
  const char* text;
  int line;
  int column;
  const char* message_part;
};

TEST(NginxParserTest, SyntaxErrorsHaveLineAndColumn) {
  const ErrorCase cases[] = {
      {"http {\n  server {\n}\n", 1, 6, "expecting \"}\""},
      {"a;\n}\n", 2, 1, "unexpected \"}\""},
      {"http {\n  listen 80\n}", 3, 1, "not terminated by \";\""},
      {"a b", 1, 1, "not terminated"},
      {"a;\n ;", 2, 2, "unexpected \";\""},
      {"x {\n  { }\n}", 2, 3, "unexpected \"{\""},
  };
  for (const ErrorCase& c : cases) {
    ParseResult result = parseNginxText(c.text, "bad.conf");
    ASSERT_TRUE(result.error) << c.text;
    EXPECT_EQ(result.error->position.line, c.line) << c.text;
    EXPECT_EQ(result.error->position.column, c.column) << c.text;
    EXPECT_NE(result.error->message.find(c.message_part), std::string::npos)
        << c.text << " -> " << result.error->format();
    EXPECT_TRUE(result.directives.empty());
  }
}

}  // namespace
}  // namespace sy::importer
