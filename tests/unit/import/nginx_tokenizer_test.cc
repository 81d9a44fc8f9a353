#include "import/nginx_tokenizer.h"

#include "gtest/gtest.h"

namespace sy::importer {
namespace {

using Kind = NginxToken::Kind;

std::vector<std::string> words(std::string_view text) {
  TokenizeResult result = tokenizeNginx(text, "t.conf");
  EXPECT_FALSE(result.error) << result.error->format();
  std::vector<std::string> out;
  for (const NginxToken& token : result.tokens) out.push_back(token.text);
  return out;
}

TEST(NginxTokenizerTest, SplitsWordsAndSeparators) {
  EXPECT_EQ(words("server 127.0.0.1:80 weight=3;\nlocation / {}"),
            (std::vector<std::string>{"server", "127.0.0.1:80", "weight=3", ";", "location", "/",
                                      "{", "}"}));
}

TEST(NginxTokenizerTest, PositionsAreLineAndColumn) {
  TokenizeResult result = tokenizeNginx("a;\n  bb  c;", "t.conf");
  ASSERT_EQ(result.tokens.size(), 5u);
  EXPECT_EQ(result.tokens[2].text, "bb");
  EXPECT_EQ(result.tokens[2].line, 2);
  EXPECT_EQ(result.tokens[2].column, 3);
  EXPECT_EQ(result.tokens[3].column, 7);
  EXPECT_EQ(result.tokens[4].kind, Kind::kSemicolon);
}

TEST(NginxTokenizerTest, QuotedStringsKeepSpacesAndSeparators) {
  TokenizeResult result = tokenizeNginx(R"(log_format main '$a - "$b" {x};' "y z";)", "t.conf");
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.tokens.size(), 5u);
  EXPECT_EQ(result.tokens[2].text, R"($a - "$b" {x};)");
  EXPECT_TRUE(result.tokens[2].quoted);
  EXPECT_EQ(result.tokens[3].text, "y z");
  EXPECT_FALSE(result.tokens[1].quoted);
}

TEST(NginxTokenizerTest, EscapesFollowNginx) {
  // \" \' \\ \t \n become one character; any other escape keeps its backslash (regexes),
  // also outside quotes, where it still keeps the next character from being a separator.
  EXPECT_EQ(words(R"(a "q\"uote" 'it\'s' "b\\s" "t\tn\n" ~^/a\.b\d x\;y;)"),
            (std::vector<std::string>{"a", "q\"uote", "it's", "b\\s", "t\tn\n", "~^/a\\.b\\d",
                                      "x\\;y", ";"}));
}

TEST(NginxTokenizerTest, CommentsOnlyAtTheStartOfAToken) {
  EXPECT_EQ(words("a # comment ; {\nb c#d; # end"),
            (std::vector<std::string>{"a", "b", "c#d", ";"}));
}

TEST(NginxTokenizerTest, BracedVariablesStayInTheWord) {
  EXPECT_EQ(words("split_clients ${remote_addr}AAA $v {"),
            (std::vector<std::string>{"split_clients", "${remote_addr}AAA", "$v", "{"}));
}

TEST(NginxTokenizerTest, UnterminatedStringIsAnErrorAtItsStart) {
  TokenizeResult result = tokenizeNginx("a;\nb 'never closed;\n}\n", "t.conf");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->position.line, 2);
  EXPECT_EQ(result.error->position.column, 3);
  EXPECT_EQ(result.error->format().substr(0, 11), "t.conf:2:3:");
}

TEST(NginxTokenizerTest, CharacterGluedToAStringIsAnError) {
  TokenizeResult result = tokenizeNginx("a \"b\"c;", "t.conf");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->position.column, 6);
  EXPECT_NE(result.error->message.find("\"c\""), std::string::npos);
}

}  // namespace
}  // namespace sy::importer
