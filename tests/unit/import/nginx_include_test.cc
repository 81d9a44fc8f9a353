#include "import/nginx_include.h"

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace sy::importer {
namespace {

using sy::testing::TempDir;

std::vector<std::string> names(const std::vector<NginxDirective>& directives) {
  std::vector<std::string> out;
  for (const NginxDirective& directive : directives) out.push_back(directive.name);
  return out;
}

TEST(NginxIncludeTest, GlobsAreRelativeToTheMainFileAndSorted) {
  TempDir dir;
  const std::string main = dir.writeFile("nginx.conf", "http {\n  include conf.d/*.conf;\n}\n");
  dir.writeFile("conf.d/b.conf", "upstream b { server 10.0.0.2; }");
  dir.writeFile("conf.d/a.conf", "upstream a { server 10.0.0.1; }\ninclude snippets/x;");
  dir.writeFile("snippets/x", "map $a $b { default c; }");
  dir.writeFile("conf.d/ignored.txt", "not nginx {");
  LoadedNginxConfig loaded = loadNginxConfig(main, "");
  ASSERT_FALSE(loaded.error) << loaded.error->format();
  ASSERT_EQ(loaded.directives.size(), 1u);
  const std::vector<NginxDirective>& http = loaded.directives[0].block;
  EXPECT_EQ(names(http), (std::vector<std::string>{"upstream", "map", "upstream"}));
  EXPECT_EQ(http[0].args[0].text, "a");
  EXPECT_EQ(http[0].position.file, dir.path() + "/conf.d/a.conf");
  EXPECT_EQ(http[1].position.file, dir.path() + "/snippets/x");
  EXPECT_EQ(loaded.files.size(), 4u);
}

TEST(NginxIncludeTest, PrefixReplacesTheMainFileDirectory) {
  TempDir dir;
  const std::string main = dir.writeFile("etc/nginx.conf", "include sites/*.conf;");
  dir.writeFile("prefix/sites/one.conf", "server { listen 81; }");
  LoadedNginxConfig loaded = loadNginxConfig(main, dir.path() + "/prefix");
  ASSERT_FALSE(loaded.error) << loaded.error->format();
  EXPECT_EQ(names(loaded.directives), (std::vector<std::string>{"server"}));
  // Without the prefix the pattern matches nothing, which nginx allows for a glob.
  LoadedNginxConfig without = loadNginxConfig(main, "");
  ASSERT_FALSE(without.error);
  EXPECT_TRUE(without.directives.empty());
}

TEST(NginxIncludeTest, MissingPlainFileIsAnErrorAtTheInclude) {
  TempDir dir;
  const std::string main = dir.writeFile("nginx.conf", "http {\n  include missing.conf;\n}");
  LoadedNginxConfig loaded = loadNginxConfig(main, "");
  ASSERT_TRUE(loaded.error);
  EXPECT_EQ(loaded.error->position.file, main);
  EXPECT_EQ(loaded.error->position.line, 2);
  EXPECT_EQ(loaded.error->position.column, 3);
}

TEST(NginxIncludeTest, MissingMainFileHasNoPosition) {
  TempDir dir;
  LoadedNginxConfig loaded = loadNginxConfig(dir.file("none.conf"), "");
  ASSERT_TRUE(loaded.error);
  EXPECT_EQ(loaded.error->format(), dir.file("none.conf") + ": cannot read \"" +
                                        dir.file("none.conf") + "\": No such file or directory");
}

TEST(NginxIncludeTest, SyntaxErrorInIncludedFileNamesThatFile) {
  TempDir dir;
  const std::string main = dir.writeFile("nginx.conf", "include bad.conf;");
  dir.writeFile("bad.conf", "upstream x {\n  server a\n");
  LoadedNginxConfig loaded = loadNginxConfig(main, "");
  ASSERT_TRUE(loaded.error);
  EXPECT_EQ(loaded.error->position.file, dir.path() + "/bad.conf");
  EXPECT_EQ(loaded.error->position.line, 2);
}

TEST(NginxIncludeTest, SelfIncludeStops) {
  TempDir dir;
  const std::string main = dir.writeFile("nginx.conf", "include nginx.conf;");
  LoadedNginxConfig loaded = loadNginxConfig(main, "");
  ASSERT_TRUE(loaded.error);
  EXPECT_NE(loaded.error->message.find("nested"), std::string::npos);
}

}  // namespace
}  // namespace sy::importer
