#include "import/location_path.h"

#include <string_view>

namespace sy::importer {
namespace {

bool isRegexSpecial(char c) {
  return std::string_view("\\.[](){}*+?|^$").find(c) != std::string_view::npos;
}

// "^/api/v1/" -> "/api/v1/"; `\.` and `\/` count as plain characters. A final `$` is reported.
std::optional<std::string> regexPrefix(std::string_view regex, bool* anchored_end) {
  *anchored_end = false;
  if (regex.size() < 2 || regex[0] != '^' || regex[1] != '/') return std::nullopt;
  std::string prefix;
  for (size_t i = 1; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size() && (regex[i + 1] == '.' || regex[i + 1] == '/')) {
      prefix += regex[++i];
    } else if (c == '$' && i + 1 == regex.size()) {
      *anchored_end = true;
    } else if (isRegexSpecial(c)) {
      return std::nullopt;
    } else {
      prefix += c;
    }
  }
  return prefix;
}

bool hasLetters(std::string_view text) {
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  }
  return false;
}

}  // namespace

std::optional<LocationPath> mapLocationPath(const NginxDirective& location, Warnings& warnings) {
  LocationPath path;
  std::string modifier;
  std::string pattern;
  if (location.args.size() == 2) {
    modifier = location.args[0].text;
    pattern = location.args[1].text;
  } else if (location.args.size() == 1) {
    pattern = location.args[0].text;
    // `location =/x` and `location ~^/x` glue the modifier to the path.
    for (const char* glued : {"^~", "~*", "=", "~"}) {
      if (pattern.rfind(glued, 0) == 0 && pattern.size() > std::string_view(glued).size()) {
        modifier = glued;
        pattern = pattern.substr(modifier.size());
        break;
      }
    }
  } else {
    warnings.unsupported(location, "expected `location [modifier] PATH { ... }`; left out");
    return std::nullopt;
  }
  path.as_written = modifier.empty() ? pattern : modifier + " " + pattern;
  if (!pattern.empty() && pattern[0] == '@') {
    warnings.unsupported(location,
                         "named locations (error_page, try_files targets) are not "
                         "supported; left out");
    return std::nullopt;
  }
  if (modifier.empty() || modifier == "^~") {
    if (pattern.empty() || pattern[0] != '/') {
      warnings.unsupported(location, "a path_prefix starts with /; left out");
      return std::nullopt;
    }
    path.prefix = pattern;
    return path;
  }
  if (modifier == "=") {
    if (pattern.empty() || pattern[0] != '/') {
      warnings.unsupported(location, "a path_prefix starts with /; left out");
      return std::nullopt;
    }
    path.kind = LocationPath::Kind::kExact;
    path.prefix = pattern;
    warnings.approximated(location, "path_prefix = \"" + pattern +
                                        "\" (Switchyard has no exact match: longer paths "
                                        "match too)");
    return path;
  }
  if (modifier == "~" || modifier == "~*") {
    bool anchored_end = false;
    const std::optional<std::string> prefix = regexPrefix(pattern, &anchored_end);
    if (!prefix) {
      warnings.unsupported(location,
                           "only ^/literal regular expressions map to a path_prefix; "
                           "left out");
      return std::nullopt;
    }
    path.kind = LocationPath::Kind::kRegex;
    path.prefix = *prefix;
    if (anchored_end) {
      warnings.approximated(location, "path_prefix = \"" + *prefix + "\" (longer paths match too)");
    } else if (modifier == "~*" && hasLetters(*prefix)) {
      warnings.approximated(location, "path_prefix = \"" + *prefix + "\" (compared with case)");
    }
    return path;
  }
  warnings.unsupported(location, "unknown location modifier " + modifier + "; left out");
  return std::nullopt;
}

}  // namespace sy::importer
