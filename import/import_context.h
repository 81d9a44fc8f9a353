#pragma once

// What the directive mappers share while they walk an nginx configuration: the Switchyard
// configuration being built, the warnings, and the http-level tables (upstreams, variables from
// `map` and `split_clients`, `log_format`s) that server blocks refer to.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "import/import_warnings.h"
#include "import/switchyard_model.h"

namespace sy::importer {

// A variable set by `split_clients` or `map`, usable as `proxy_pass http://$name`.
struct VariableSource {
  std::string default_pool;  // split_clients: the "*" bucket; map: `default`
  // split_clients: one canary bucket.
  std::optional<ImportedCanary> canary;
  std::string sticky;  // the hashed request attribute ("client_ip", "cookie:x"), or empty
  // map: one rule per entry, in order.
  std::vector<ImportedRule> rules;
  bool usable = true;  // false: warned already, routes using it are dropped
};

struct ImportContext {
  ImportedConfig config;
  Warnings warnings;
  std::map<std::string, VariableSource> variables;  // by name, without '$'
  std::map<std::string, bool> log_format_is_json;   // log_format name -> escape=json
  std::set<std::string> dropped_upstreams;          // upstreams that gave no pool (warned)
};

}  // namespace sy::importer
