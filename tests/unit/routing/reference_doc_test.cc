// conf/REFERENCE.md must not drift from the loader: every TOML example in it has to be valid
// TOML using only keys the loader knows, with values it accepts. Examples show one section at a
// time, so errors about sections or keys they leave out are expected and ignored.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "routing/config/toml_loader.h"

namespace sy::routing::config {
namespace {

std::vector<std::string> tomlBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::istringstream in(markdown);
  std::string line;
  std::string block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```toml") {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(block);
    } else if (inside) {
      block += line + "\n";
    }
  }
  return blocks;
}

bool isOmission(const ConfigError& error) {
  return error.message.find("is required") != std::string::npos ||
         error.message.find("required key is missing") != std::string::npos ||
         error.message.find("unknown pool") != std::string::npos;
}

TEST(ReferenceDocTest, EveryTomlExampleIsAccepted) {
  std::ifstream file(std::string(SY_SOURCE_DIR) + "/conf/REFERENCE.md");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  const std::vector<std::string> blocks = tomlBlocks(text.str());
  ASSERT_GE(blocks.size(), 30u);  // one example per key, at least
  for (size_t i = 0; i < blocks.size(); ++i) {
    // A bare backends array is shown on its own; give it the pool it belongs to.
    const std::string toml =
        blocks[i].rfind("backends", 0) == 0 ? "[[pools]]\nname = \"p\"\n" + blocks[i] : blocks[i];
    for (const ConfigError& error : parseConfigText(toml, "example").errors) {
      EXPECT_TRUE(isOmission(error)) << "example " << i << ": " << error.toString() << "\n"
                                     << blocks[i];
    }
  }
}

}  // namespace
}  // namespace sy::routing::config
