#include "import/variable_mapper.h"

#include <algorithm>
#include <cstdlib>

#include "import/nginx_values.h"

namespace sy::importer {
namespace {

// A variable name from "$name" or "${name}"; empty if `text` is not exactly one variable.
std::string wholeVariable(const std::string& text) {
  const std::string name = firstVariable(text);
  if (name.empty()) return "";
  return text == "$" + name || text == "${" + name + "}" ? name : "";
}

// The literal text a `~^literal` regular expression matches at the start, or nullopt when the
// expression uses anything but plain characters (an escaped dot counts as a dot).
std::optional<std::string> literalPrefix(std::string_view regex, bool* anchored_end) {
  *anchored_end = false;
  if (regex.empty() || regex[0] != '^') return std::nullopt;
  std::string literal;
  for (size_t i = 1; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size() &&
        std::string_view("./-_").find(regex[i + 1]) != std::string_view::npos) {
      literal += regex[++i];
    } else if (c == '$' && i + 1 == regex.size()) {
      *anchored_end = true;
    } else if (std::string_view("\\.[](){}*+?|^$").find(c) != std::string_view::npos) {
      return std::nullopt;
    } else {
      literal += c;
    }
  }
  return literal;
}

}  // namespace

void mapSplitClients(const NginxDirective& split, ImportContext& context) {
  Warnings& warnings = context.warnings;
  const std::string variable = split.args.size() == 2 ? wholeVariable(split.args[1].text) : "";
  if (variable.empty() || !split.has_block) {
    warnings.unsupported(split, "expected `split_clients STRING $variable { ... }`; left out");
    return;
  }
  struct Bucket {
    double percent;
    std::string value;
    const NginxDirective* directive;
  };
  std::vector<Bucket> buckets;
  double total = 0;
  for (const NginxDirective& entry : split.block) {
    if (entry.args.size() != 1) {
      warnings.unsupported(entry, "expected `PERCENT% VALUE;`; left out");
      continue;
    }
    double percent = -1;
    if (entry.name == "*") {
      percent = std::max(0.0, 100 - total);
    } else if (!entry.name.empty() && entry.name.back() == '%') {
      percent = std::strtod(entry.name.c_str(), nullptr);
      total += percent;
    }
    if (percent < 0) {
      warnings.unsupported(entry, "expected a percentage or *; left out");
      continue;
    }
    buckets.push_back({percent, entry.args[0].text, &entry});
  }
  VariableSource source;
  if (buckets.empty()) {
    warnings.unsupported(split, "no buckets; left out");
    source.usable = false;
    context.variables[variable] = source;
    return;
  }
  // The largest bucket is the route's pool, the next one its canary.
  std::vector<Bucket> by_size = buckets;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const Bucket& a, const Bucket& b) { return a.percent > b.percent; });
  source.default_pool = by_size[0].value;
  if (by_size.size() >= 2) source.canary = ImportedCanary{by_size[1].value, by_size[1].percent};
  for (size_t i = 2; i < by_size.size(); ++i) {
    warnings.unsupported(*by_size[i].directive,
                         "a route has one canary: only the two largest buckets are carried");
  }
  const std::string hashed = firstVariable(split.args[0].text);
  if (const std::optional<std::string> key = requestKeyOfVariable(hashed)) {
    source.sticky = *key;
  } else {
    warnings.approximated(split,
                          "Switchyard's sticky key is a header, a cookie or the client "
                          "address: the split is random per request");
  }
  context.variables[variable] = source;
}

void mapMap(const NginxDirective& map, ImportContext& context) {
  Warnings& warnings = context.warnings;
  const std::string result = map.args.size() == 2 ? wholeVariable(map.args[1].text) : "";
  const std::string input = map.args.size() == 2 ? wholeVariable(map.args[0].text) : "";
  if (result.empty() || !map.has_block) {
    warnings.unsupported(map, "expected `map $source $variable { ... }`; left out");
    return;
  }
  VariableSource source;
  std::string attribute;
  std::string name;
  if (input.rfind("http_", 0) == 0) {
    attribute = "header";
    name = input.substr(5);
    std::replace(name.begin(), name.end(), '_', '-');
  } else if (input.rfind("cookie_", 0) == 0) {
    attribute = "cookie";
    name = input.substr(7);
  } else if (input.rfind("arg_", 0) == 0) {
    attribute = "query";
    name = input.substr(4);
  }
  if (attribute.empty() || name.empty()) {
    // Only maps a proxy_pass uses matter; a map of another source is warned where it is used.
    source.usable = false;
    context.variables[result] = source;
    return;
  }
  for (const NginxDirective& entry : map.block) {
    if (entry.name == "hostnames" || entry.name == "volatile") {
      warnings.ignored(entry, "no meaning for rules on " + attribute + " " + name);
      continue;
    }
    if (entry.args.size() != 1) {
      warnings.unsupported(entry, "expected `KEY VALUE;`; left out");
      continue;
    }
    const std::string& value = entry.args[0].text;
    if (entry.name == "default") {
      source.default_pool = value;
      continue;
    }
    ImportedRule rule{attribute, name, "equals", entry.name, value};
    if (entry.name.rfind("~", 0) == 0) {
      const bool caseless = entry.name.rfind("~*", 0) == 0;
      bool anchored_end = false;
      const std::optional<std::string> literal =
          caseless ? std::nullopt : literalPrefix(entry.name.substr(1), &anchored_end);
      if (!literal || literal->empty()) {
        warnings.unsupported(entry,
                             "rules compare whole values or prefixes: only ~^literal "
                             "regular expressions are carried; left out");
        continue;
      }
      rule.comparison = anchored_end ? "equals" : "prefix";
      rule.value = *literal;
    } else if (entry.name.empty()) {
      warnings.unsupported(entry, "a rule cannot match an absent or empty value; left out");
      continue;
    }
    source.rules.push_back(std::move(rule));
  }
  if (source.default_pool.empty()) {
    warnings.unsupported(map, "no `default`: nginx would proxy to an empty host; left out");
    source.usable = false;
  }
  context.variables[result] = source;
}

}  // namespace sy::importer
