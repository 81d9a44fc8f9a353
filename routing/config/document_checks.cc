#include "routing/config/document_checks.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "routing/config/toml_nodes.h"

namespace sy::routing::config {
namespace {

// One value that must be unique, with where it was written.
struct Occurrence {
  std::string value;  // compared
  std::string shown;  // in the message
  std::string key;
  SourcePosition position;
};

// `section`[index].`key` when written, else the table itself (for defaults such as listener
// names), else the document.
SourcePosition positionIn(const toml::table& root, std::string_view section, size_t index,
                          std::string_view key) {
  const toml::node_view<const toml::node> table = root[section][index];
  if (const toml::node* node = table[key].node()) return positionOf(*node);
  if (const toml::node* node = table.node()) return positionOf(*node);
  return positionOf(root);
}

void reportDuplicates(const std::vector<Occurrence>& occurrences, std::string_view what,
                      ErrorSink& sink) {
  for (size_t i = 0; i < occurrences.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (occurrences[j].value != occurrences[i].value) continue;
      const Occurrence& first = occurrences[j];
      sink.add(occurrences[i].position, occurrences[i].key,
               absl::StrCat("duplicate ", core::toAbsl(what), " ", occurrences[i].shown,
                            ": already used by ", first.key, " on line ", first.position.line));
      break;
    }
  }
}

std::vector<Occurrence> listenerNames(const toml::table& root, const Config& config,
                                      ErrorSink& sink) {
  std::vector<Occurrence> out;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const std::string key = childKey(indexKey("listeners", i), "name");
    if (config.listeners[i].name.empty() || sink.hasErrorAt(key)) continue;
    out.push_back({config.listeners[i].name, inQuotes(config.listeners[i].name), key,
                   positionIn(root, "listeners", i, "name")});
  }
  return out;
}

// Port 0 is exempt: each such listener gets a different free port.
std::vector<Occurrence> listenAddresses(const toml::table& root, const Config& config) {
  std::vector<Occurrence> out;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    if (!listener.listen.valid() || listener.listen.port() == 0) continue;
    out.push_back({listener.listen.toString(), inQuotes(listener.listen_text),
                   childKey(indexKey("listeners", i), "listen"),
                   positionIn(root, "listeners", i, "listen")});
  }
  return out;
}

// Names as the user wrote them, even invalid ones, so that a pool whose name was rejected does
// not also make every route that uses it report an unknown pool.
std::vector<std::string> writtenPoolNames(const toml::table& root) {
  std::vector<std::string> out;
  if (const toml::array* pools = root["pools"].as_array()) {
    for (const toml::node& pool : *pools) {
      if (auto name =
              pool.as_table() ? (*pool.as_table())["name"].value<std::string>() : std::nullopt) {
        out.push_back(*name);
      }
    }
  }
  return out;
}

// Reports `pool` at `key` (whose node is `node`) unless it is one of `defined`.
void checkPoolName(const toml::node* node, const std::string& key, const std::string& pool,
                   const std::vector<std::string>& defined, ErrorSink& sink) {
  if (node == nullptr || sink.hasErrorAt(key)) return;
  if (std::find(defined.begin(), defined.end(), pool) != defined.end()) return;
  sink.add(positionOf(*node), key,
           absl::StrCat("unknown pool ", inQuotes(pool),
                        " (defined: ", absl::StrJoin(defined, ", "), ")"));
}

void checkRoutePools(const toml::table& root, const Config& config, ErrorSink& sink) {
  const toml::array* pools = root["pools"].as_array();
  if (pools == nullptr || pools->empty()) return;  // reported as missing pools already
  const std::vector<std::string> defined = writtenPoolNames(root);
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& route = config.routes[i];
    const std::string route_key = indexKey("routes", i);
    const auto route_node = root["routes"][i];
    checkPoolName(route_node["pool"].node(), childKey(route_key, "pool"), route.pool, defined,
                  sink);
    for (size_t r = 0; r < route.rules.size(); ++r) {
      checkPoolName(route_node["rules"][r]["pool"].node(),
                    childKey(indexKey(childKey(route_key, "rules"), r), "pool"),
                    route.rules[r].pool, defined, sink);
    }
    if (route.mirror) {
      const std::string key = childKey(childKey(route_key, "mirror"), "pool");
      const toml::node* node = route_node["mirror"]["pool"].node();
      checkPoolName(node, key, route.mirror->pool, defined, sink);
      if (node != nullptr && !sink.hasErrorAt(key) && route.mirror->pool == route.pool) {
        sink.add(positionOf(*node), key,
                 absl::StrCat("the mirror pool ", inQuotes(route.mirror->pool),
                              " is the route's own pool: name another pool"));
      }
    }
    if (route.canary) {
      const std::string key = childKey(childKey(route_key, "canary"), "pool");
      const toml::node* node = route_node["canary"]["pool"].node();
      checkPoolName(node, key, route.canary->pool, defined, sink);
      if (node != nullptr && !sink.hasErrorAt(key) && route.canary->pool == route.pool) {
        sink.add(positionOf(*node), key,
                 absl::StrCat("the canary pool ", inQuotes(route.canary->pool),
                              " is the route's own pool: name another pool"));
      }
    }
  }
}

// The admin API binds its own socket, so sharing a listener's address would only fail at startup.
void checkAdminAddress(const toml::table& root, const Config& config,
                       const std::vector<Occurrence>& listener_addresses, ErrorSink& sink) {
  if (config.admin.listen.port() == 0 || sink.hasErrorAt("admin.listen")) return;
  const toml::node* admin_listen = root["admin"]["listen"].node();
  for (const Occurrence& listener : listener_addresses) {
    if (listener.value != config.admin.listen.toString()) continue;
    if (admin_listen != nullptr) {
      sink.add(positionOf(*admin_listen), "admin.listen",
               absl::StrCat(inQuotes(config.admin.listen_text), " is already the address of ",
                            listener.key, " on line ", listener.position.line));
    } else {
      sink.add(listener.position, listener.key,
               absl::StrCat(listener.shown, " is the admin API's default address (",
                            inQuotes(config.admin.listen_text),
                            "): use another address or set admin.listen"));
    }
    return;
  }
}

// The probes listener binds its own socket too: not a listener's address, not the admin API's.
void checkProbesAddress(const toml::table& root, const Config& config,
                        const std::vector<Occurrence>& listener_addresses, ErrorSink& sink) {
  const std::string key = "admin.probes_listen";
  const toml::node* node = root["admin"]["probes_listen"].node();
  if (node == nullptr || config.admin.probes_listen.port() == 0 || sink.hasErrorAt(key)) return;
  const std::string address = config.admin.probes_listen.toString();
  if (address == config.admin.listen.toString()) {
    sink.add(positionOf(*node), key,
             absl::StrCat(inQuotes(config.admin.probes_listen_text),
                          " is the admin API's address: the probes need a port of their own"));
    return;
  }
  for (const Occurrence& listener : listener_addresses) {
    if (listener.value != address) continue;
    sink.add(positionOf(*node), key,
             absl::StrCat(inQuotes(config.admin.probes_listen_text), " is already the address of ",
                          listener.key, " on line ", listener.position.line));
    return;
  }
}

}  // namespace

void checkDocument(const toml::table& root, const Config& config, ErrorSink& sink) {
  reportDuplicates(listenerNames(root, config, sink), "listener name", sink);

  std::vector<Occurrence> addresses = listenAddresses(root, config);
  reportDuplicates(addresses, "listen address", sink);
  checkAdminAddress(root, config, addresses, sink);
  checkProbesAddress(root, config, addresses, sink);

  std::vector<Occurrence> pool_names;
  for (size_t i = 0; i < config.pools.size(); ++i) {
    if (config.pools[i].name.empty()) continue;
    pool_names.push_back({config.pools[i].name, inQuotes(config.pools[i].name),
                          childKey(indexKey("pools", i), "name"),
                          positionIn(root, "pools", i, "name")});
  }
  reportDuplicates(pool_names, "pool name", sink);

  std::vector<Occurrence> route_names;
  for (size_t i = 0; i < config.routes.size(); ++i) {
    if (config.routes[i].name.empty()) continue;
    route_names.push_back({config.routes[i].name, inQuotes(config.routes[i].name),
                           childKey(indexKey("routes", i), "name"),
                           positionIn(root, "routes", i, "name")});
  }
  reportDuplicates(route_names, "route name", sink);

  checkRoutePools(root, config, sink);
}

}  // namespace sy::routing::config
