#include "import/nginx_include.h"

#include <glob.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "import/nginx_parser.h"

namespace sy::importer {
namespace {

// nginx has no limit, but a file that includes itself would never end.
constexpr int kMaxIncludeDepth = 16;

bool hasWildcard(const std::string& pattern) {
  return pattern.find_first_of("*?[") != std::string::npos;
}

class IncludeExpander {
 public:
  IncludeExpander(std::string prefix, LoadedNginxConfig& out)
      : prefix_(std::move(prefix)), out_(out) {}

  // Reads and parses `path`; false with out_.error set on failure.
  bool readFile(const std::string& path, const SourcePosition* included_from,
                std::vector<NginxDirective>& directives, int depth) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      SourcePosition where = included_from ? *included_from : SourcePosition{path, 0, 0};
      out_.error = NginxSyntaxError{where, "cannot read \"" + path + "\": " + std::strerror(errno)};
      return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    out_.files.push_back(path);
    ParseResult parsed = parseNginxText(text.str(), path);
    if (parsed.error) {
      out_.error = parsed.error;
      return false;
    }
    if (!expand(parsed.directives, depth)) return false;
    for (NginxDirective& directive : parsed.directives) directives.push_back(std::move(directive));
    return true;
  }

 private:
  // Replaces each `include` in `directives` (and in nested blocks) with what it names.
  bool expand(std::vector<NginxDirective>& directives, int depth) {
    std::vector<NginxDirective> result;
    for (NginxDirective& directive : directives) {
      if (directive.name != "include") {
        if (directive.has_block && !expand(directive.block, depth)) return false;
        result.push_back(std::move(directive));
        continue;
      }
      if (directive.args.size() != 1 || directive.has_block) {
        out_.error = NginxSyntaxError{directive.position,
                                      "invalid number of arguments in \"include\" directive"};
        return false;
      }
      if (depth >= kMaxIncludeDepth) {
        out_.error = NginxSyntaxError{
            directive.position, "includes nested more than 16 deep (does a file include itself?)"};
        return false;
      }
      std::string pattern = directive.args[0].text;
      if (pattern.empty() || pattern[0] != '/') pattern = prefix_ + pattern;
      std::vector<std::string> paths;
      if (!hasWildcard(pattern)) {
        paths.push_back(pattern);
      } else {
        glob_t matches{};
        const int status = ::glob(pattern.c_str(), 0, nullptr, &matches);
        if (status == 0) {
          for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
        }
        ::globfree(&matches);
        if (status != 0 && status != GLOB_NOMATCH) {
          out_.error = NginxSyntaxError{directive.position, "cannot expand \"" + pattern + "\""};
          return false;
        }
      }
      for (const std::string& path : paths) {
        if (!readFile(path, &directive.position, result, depth + 1)) return false;
      }
    }
    directives = std::move(result);
    return true;
  }

  std::string prefix_;
  LoadedNginxConfig& out_;
};

std::string directoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

}  // namespace

LoadedNginxConfig loadNginxConfig(const std::string& main_file, const std::string& prefix) {
  LoadedNginxConfig out;
  std::string base = prefix.empty() ? directoryOf(main_file) : prefix;
  if (!base.empty() && base.back() != '/') base += '/';
  IncludeExpander expander(base, out);
  if (!expander.readFile(main_file, nullptr, out.directives, 0)) out.directives.clear();
  return out;
}

}  // namespace sy::importer
