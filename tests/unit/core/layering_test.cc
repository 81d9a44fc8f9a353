// The layering of the tree, checked: each folder may include only itself and the folders below
// it along the chain
//   core -> http -> tls -> upstream -> routing -> health -> admin -> proxy
//     -> proxy/control
// (plus the side branches listed in allowedIncludes: proxy/demo, import), so a lower layer never
// learns about a higher one and could be built, tested and reused without it: the data plane
// (proxy) never reaches into the control thread (proxy/control), which starts the workers and
// posts to them. Folders outside the chain (tests, bench, fuzz) and the binary's entry point
// (proxy/main.cc, which wires every layer together) sit on top and may include anything. A new
// folder with sources must be given its place here: the test fails on a folder it does not know.

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sy {
namespace {

namespace fs = std::filesystem;

// What each layer may include besides itself: the chain, plus the demo origin, which is a side
// branch on the substrate (only the binary's `backend` subcommand and tests use it), and the
// nginx import (only the binary's `import` subcommand uses it).
const std::map<std::string, std::set<std::string>>& allowedIncludes() {
  static const auto* allowed = [] {
    auto* map = new std::map<std::string, std::set<std::string>>;
    const std::vector<std::string> chain = {"core",   "http",  "tls",   "upstream",     "routing",
                                            "health", "admin", "proxy", "proxy/control"};
    for (size_t i = 0; i < chain.size(); ++i) {
      (*map)[chain[i]] = std::set<std::string>(chain.begin(), chain.begin() + i + 1);
    }
    (*map)["proxy/demo"] = {"core", "http", "proxy/demo"};
    // `switchyard import nginx` reads nginx syntax and writes TOML text: it needs no layer.
    (*map)["import"] = {"import"};
    return map;
  }();
  return *allowed;
}

// Folders that only consume the layers (nothing in the chain may include them).
const std::vector<std::string>& topFolders() {
  static const auto* folders = new std::vector<std::string>{"tests", "bench", "fuzz"};
  return *folders;
}

// The layer a repository-relative path belongs to: the longest matching layer prefix.
std::optional<std::string> layerOf(const std::string& path) {
  std::optional<std::string> best;
  for (const auto& [layer, allowed] : allowedIncludes()) {
    if (path.rfind(layer + "/", 0) == 0 && (!best || layer.size() > best->size())) best = layer;
  }
  return best;
}

// Files on top of every layer though they sit in a layer's folder: the binary's entry point
// chooses between the proxy (proxy/control), the demo origin and the nginx import.
const std::vector<std::string>& topFiles() {
  static const auto* files = new std::vector<std::string>{"proxy/main.cc"};
  return *files;
}

bool isTopFolder(const std::string& path) {
  for (const std::string& folder : topFolders()) {
    if (path.rfind(folder + "/", 0) == 0) return true;
  }
  for (const std::string& file : topFiles()) {
    if (path == file) return true;
  }
  return false;
}

bool isSource(const fs::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".h" || extension == ".cc";
}

TEST(LayeringTest, NoIncludeRunsAgainstTheChain) {
  const fs::path root(SY_SOURCE_DIR);
  const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> violations;
  size_t files_checked = 0;
  for (const fs::directory_entry& top : fs::directory_iterator(root)) {
    const std::string name = top.path().filename().string();
    if (!top.is_directory() || name.front() == '.' || name.rfind("build", 0) == 0) continue;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(top.path())) {
      if (!entry.is_regular_file() || !isSource(entry.path())) continue;
      const std::string path = fs::relative(entry.path(), root).generic_string();
      if (isTopFolder(path)) continue;
      const std::optional<std::string> layer = layerOf(path);
      if (!layer) {
        violations.push_back(path + ": its folder has no layer in layering_test.cc");
        continue;
      }
      ++files_checked;
      std::ifstream file(entry.path());
      std::string line;
      while (std::getline(file, line)) {
        std::smatch match;
        if (!std::regex_search(line, match, include_line)) continue;
        const std::string included = match[1].str();
        const std::optional<std::string> included_layer = layerOf(included);
        if (!included_layer) continue;  // a library header (absl/, nlohmann/, ...)
        if (!allowedIncludes().at(*layer).contains(*included_layer)) {
          violations.push_back(path + " (" + *layer + ") includes " + included + " (" +
                               *included_layer + ")");
        }
      }
    }
  }
  EXPECT_GT(files_checked, 50u) << "the walk found too few sources under " << root;
  for (const std::string& violation : violations) ADD_FAILURE() << violation;
}

TEST(LayeringTest, TheDataPlaneNeverReachesIntoTheControlThread) {
  EXPECT_FALSE(allowedIncludes().at("proxy").contains("proxy/control"));
  EXPECT_TRUE(allowedIncludes().at("proxy/control").contains("proxy"));
  EXPECT_FALSE(allowedIncludes().at("admin").contains("proxy/control"));
  EXPECT_TRUE(isTopFolder("proxy/main.cc"));
  EXPECT_FALSE(isTopFolder("proxy/worker.cc"));
}

TEST(LayeringTest, LayerOfPicksTheLongestPrefix) {
  EXPECT_EQ(layerOf("core/log.h"), "core");
  EXPECT_EQ(layerOf("http/http1_parser.h"), "http");
  EXPECT_EQ(layerOf("proxy/worker.h"), "proxy");
  EXPECT_EQ(layerOf("proxy/control/server.h"), "proxy/control");
  EXPECT_EQ(layerOf("proxy/demo/demo_backend.h"), "proxy/demo");
  EXPECT_EQ(layerOf("upstream/pool.h"), "upstream");
  EXPECT_EQ(layerOf("absl/strings/str_cat.h"), std::nullopt);
  EXPECT_EQ(layerOf("proxy_like/x.h"), std::nullopt);
}

}  // namespace
}  // namespace sy
