#include "import/server_mapper.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "import/directive_catalog.h"
#include "import/location_path.h"
#include "import/nginx_values.h"
#include "import/proxy_pass_target.h"
#include "import/tls_settings.h"

namespace sy::importer {
namespace {

constexpr int kMaxRetries = 10;  // routes.retries range
constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

std::string where(const NginxDirective& directive) {
  return directive.position.file + ":" + std::to_string(directive.position.line);
}

struct RouteDraft {
  ImportedRoute route;
  LocationPath::Kind kind = LocationPath::Kind::kPrefix;
  size_t order = 0;  // file order, to keep regexes in their nginx order
};

struct ServerGroup {
  int rank = 0;  // 0: exact names, 1: wildcard names, 2: the default server, 3: nameless others
  std::vector<RouteDraft> drafts;
};

class ServerMapper {
 public:
  ServerMapper(const ProxySettings& http, ImportContext& context)
      : http_(http), context_(context), warnings_(context.warnings) {}

  void run(const std::vector<const NginxDirective*>& servers) {
    size_t default_index = 0;
    for (size_t i = 0; i < servers.size(); ++i) {
      if (isExplicitDefault(*servers[i])) {
        default_index = i;
        break;
      }
    }
    std::vector<ServerGroup> groups;
    for (size_t i = 0; i < servers.size(); ++i) {
      groups.push_back(mapServer(*servers[i], i, i == default_index));
    }
    std::stable_sort(groups.begin(), groups.end(),
                     [](const ServerGroup& a, const ServerGroup& b) { return a.rank < b.rank; });
    for (ServerGroup& group : groups) {
      std::stable_sort(group.drafts.begin(), group.drafts.end(),
                       [](const RouteDraft& a, const RouteDraft& b) {
                         if (a.kind != b.kind) return a.kind < b.kind;
                         if (a.kind == LocationPath::Kind::kRegex) return a.order < b.order;
                         return a.route.path_prefix.size() > b.route.path_prefix.size();
                       });
      for (RouteDraft& draft : group.drafts) context_.config.routes.push_back(draft.route);
    }
    // A standby pool (the other colour of a blue/green pair) gets the http-level timeouts, the
    // ones a location switched to it would most likely have.
    for (ImportedPool& pool : context_.config.pools) {
      if (!pool.timeouts_set) applyTimeouts(pool, http_, nullptr);
    }
  }

 private:
  static bool isExplicitDefault(const NginxDirective& server) {
    for (const NginxDirective& directive : server.block) {
      if (directive.name != "listen") continue;
      for (const NginxArg& arg : directive.args) {
        if (arg.text == "default_server" || arg.text == "default") return true;
      }
    }
    return false;
  }

  ServerGroup mapServer(const NginxDirective& server, size_t index, bool is_default) {
    ServerGroup group;
    ProxySettings settings = http_.inherited();
    std::vector<const NginxDirective*> locations;
    std::vector<std::string> hosts;
    bool names_given = false;
    bool has_listen = false;
    std::set<std::string> listen_addresses;
    std::map<std::string, ListenOptions> listen_options;
    for (const NginxDirective& directive : server.block) {
      if (directive.name == "listen") {
        has_listen = true;
        ListenOptions options;
        if (std::optional<std::string> address = mapListen(directive, options)) {
          listen_addresses.insert(*address);
          listen_options[*address] = options;
        }
      } else if (directive.name == "server_name") {
        names_given = true;
        mapServerNames(directive, hosts);
      } else if (directive.name == "location") {
        locations.push_back(&directive);
      } else if (directive.name == "return") {
        warnReturn(directive);
      } else if (directive.name == "if") {
        warnings_.unsupported(directive, "conditions (if) are not supported; left out");
      } else if (!readProxySetting(directive, Level::kServer, settings, context_)) {
        warnUnknownDirective(directive, warnings_);
      }
    }
    if (!has_listen) listen_addresses.insert(addListener("0.0.0.0:80", server));
    for (const std::string& address : listen_addresses) {
      applyListenerSettings(address, settings, server);
      for (ImportedListener& listener : context_.config.listeners) {
        if (listener.listen != address) continue;
        applyTlsSettings(listener, settings.tls, listen_options[address], is_default, server,
                         warnings_);
      }
    }
    if (index == 0) {
      first_listen_set_ = listen_addresses;
    } else if (listen_addresses != first_listen_set_) {
      warnings_.approximated(server,
                             "routes are shared by every listener: this server's "
                             "routes also answer on the other servers' addresses");
    }

    label_ = hosts.empty() ? (is_default ? "default" : "server" + std::to_string(index)) : hosts[0];
    if (label_.rfind("*.", 0) == 0) label_ = label_.substr(2);
    if (is_default) {
      group.rank = 2;
      hosts.clear();  // the default server answers every host no other server claims
    } else if (hosts.empty()) {
      if (names_given) {
        warnings_.unsupported(server, "no server_name Switchyard can match: routes left out");
        return group;
      }
      group.rank = 3;
      warnings_.approximated(server,
                             "a second server without server_name: its routes come "
                             "after the default server's");
    } else {
      group.rank =
          std::any_of(hosts.begin(), hosts.end(),
                      [](const std::string& h) { return h.find('*') != std::string::npos; })
              ? 1
              : 0;
    }
    hosts_ = hosts;

    // Locations named by `mirror` serve the copies only: find their pools first.
    mirror_pools_.clear();
    std::set<std::string> mirror_uris;
    collectMirrorUris(server.block, mirror_uris);
    for (const NginxDirective* location : locations) {
      const std::string path = location->args.empty() ? "" : location->args.back().text;
      if (mirror_uris.count(path) == 0) continue;
      for (const NginxDirective& directive : location->block) {
        if (directive.name != "proxy_pass" || directive.args.size() != 1) continue;
        const std::optional<ProxyPassTarget> target = parseProxyPass(directive.args[0].text);
        if (target && target->variable.empty()) {
          mirror_pools_[path] = resolvePool(target->host, directive);
        }
      }
    }
    for (const NginxDirective* location : locations) {
      mapLocation(*location, settings, mirror_uris, group.drafts);
    }
    return group;
  }

  static void collectMirrorUris(const std::vector<NginxDirective>& block,
                                std::set<std::string>& uris) {
    for (const NginxDirective& directive : block) {
      if (directive.name == "mirror" && directive.args.size() == 1 &&
          directive.args[0].text != "off") {
        uris.insert(directive.args[0].text);
      }
      if (directive.has_block) collectMirrorUris(directive.block, uris);
    }
  }

  void warnReturn(const NginxDirective& directive) {
    const std::string code = directive.args.empty() ? "" : directive.args[0].text;
    if (code == "301" || code == "302" || code == "303" || code == "307" || code == "308" ||
        (!code.empty() && code.find("://") != std::string::npos)) {
      warnings_.unsupported(directive, "redirects are not supported yet");
    } else {
      warnings_.unsupported(directive, "fixed responses are not supported yet");
    }
  }

  // --- listen -----------------------------------------------------------------------------

  std::optional<std::string> mapListen(const NginxDirective& directive, ListenOptions& options) {
    if (directive.args.empty()) {
      warnings_.unsupported(directive, "expected `listen ADDRESS`; left out");
      return std::nullopt;
    }
    const std::optional<std::string> address = listenAddress(directive.args[0].text);
    if (!address) {
      warnings_.unsupported(directive, "only host:port addresses (no unix: sockets); left out");
      return std::nullopt;
    }
    std::optional<int> backlog;
    for (size_t i = 1; i < directive.args.size(); ++i) {
      const std::string& param = directive.args[i].text;
      if (param == "default_server" || param == "default") continue;
      if (param.rfind("backlog=", 0) == 0) {
        const std::string value = param.substr(8);
        const bool valid = !value.empty() && value.size() <= 5 &&
                           std::all_of(value.begin(), value.end(), ::isdigit) &&
                           std::stoi(value) >= 1 && std::stoi(value) <= 65535;
        if (valid) {
          backlog = std::stoi(value);
        } else {
          warnings_.unsupported(directive, "backlog takes 1 to 65535; default used");
        }
        continue;
      }
      if (param == "ssl") {
        options.ssl = true;
      } else if (param == "http2") {
        options.http2 = true;
      } else if (param == "quic") {
        warnings_.unsupported(directive, "HTTP/3 (QUIC) is not supported; HTTP/1.1 and HTTP/2");
      } else {
        warnings_.ignored(directive, "listen parameter " + param + " has no Switchyard meaning");
      }
    }
    addListener(*address, directive);
    if (backlog) {
      for (ImportedListener& listener : context_.config.listeners) {
        if (listener.listen == *address) listener.backlog = backlog;
      }
    }
    return *address;
  }

  std::string addListener(const std::string& address, const NginxDirective& origin) {
    for (const ImportedListener& listener : context_.config.listeners) {
      if (listener.listen == address) return address;
    }
    ImportedListener listener;
    const std::string port = address.substr(address.rfind(':') + 1);
    listener.name = "port-" + port;
    int suffix = 2;
    auto taken = [&](const std::string& name) {
      return std::any_of(context_.config.listeners.begin(), context_.config.listeners.end(),
                         [&](const ImportedListener& l) { return l.name == name; });
    };
    while (taken(listener.name)) listener.name = "port-" + port + "-" + std::to_string(suffix++);
    listener.listen = address;
    listener.origin = where(origin);
    context_.config.listeners.push_back(listener);
    return address;
  }

  // keepalive_timeout, client_header_timeout and client_body_timeout/send_timeout of the
  // server (or inherited from http) -> the keys of the listener it listens on.
  void applyListenerSettings(const std::string& address, const ProxySettings& settings,
                             const NginxDirective& server) {
    for (ImportedListener& listener : context_.config.listeners) {
      if (listener.listen != address) continue;
      applyListenerKey(listener, "keepalive_timeout", settings.keepalive_timeout_ms, kHourMs,
                       listener.keepalive_timeout, server);
      applyListenerKey(listener, "header_timeout", settings.header_timeout_ms, kHourMs,
                       listener.header_timeout, server);
      applyListenerKey(listener, "client_timeout", settings.client_timeout_ms, kDayMs,
                       listener.client_timeout, server);
    }
  }

  void applyListenerKey(const ImportedListener& listener, const std::string& key,
                        std::optional<int64_t> ms, int64_t max_ms, std::optional<std::string>& out,
                        const NginxDirective& server) {
    if (!ms) return;
    if (*ms < 1 || *ms > max_ms) {
      warnings_.unsupported(server, key + " of listener " + listener.name +
                                        " is out of Switchyard's range (a 0 that turns a "
                                        "feature off is not supported); default used");
      return;
    }
    const std::string value = switchyardDuration(*ms);
    if (out && *out != value) {
      warnings_.approximated(server, "listener " + listener.name + " keeps " + key + " = " + *out +
                                         " (listener keys are per address)");
      return;
    }
    out = value;
  }

  // --- server_name ------------------------------------------------------------------------

  void mapServerNames(const NginxDirective& directive, std::vector<std::string>& hosts) {
    for (const NginxArg& arg : directive.args) {
      const std::string name = asciiLower(arg.text);
      if (name.empty() || name == "_") continue;
      if (name[0] == '~' || name.find('$') != std::string::npos) {
        warnings_.unsupported(directive, "server name " + arg.text +
                                             ": regular expressions and variables are not "
                                             "supported; left out");
      } else if (name[0] == '.') {
        hosts.push_back(name.substr(1));
        hosts.push_back("*" + name);
      } else if (name.size() > 2 && name.substr(name.size() - 2) == ".*") {
        warnings_.unsupported(directive, "server name " + arg.text +
                                             ": trailing wildcards are not supported; left out");
      } else if (name.find('*') != std::string::npos && name.rfind("*.", 0) != 0) {
        warnings_.unsupported(directive, "server name " + arg.text +
                                             ": a * is only allowed as "
                                             "the first label; left out");
      } else {
        hosts.push_back(name);
      }
    }
    // server_name example.com .example.com lists example.com twice.
    std::vector<std::string> unique;
    for (const std::string& host : hosts) {
      if (std::find(unique.begin(), unique.end(), host) == unique.end()) unique.push_back(host);
    }
    hosts = std::move(unique);
  }

  // --- location ---------------------------------------------------------------------------

  void mapLocation(const NginxDirective& location, const ProxySettings& parent,
                   const std::set<std::string>& mirror_uris, std::vector<RouteDraft>& drafts) {
    const std::string path_arg = location.args.empty() ? "" : location.args.back().text;
    const bool mirror_target = mirror_uris.count(path_arg) != 0;
    std::optional<LocationPath> path;
    if (!mirror_target) path = mapLocationPath(location, warnings_);
    ProxySettings settings = parent.inherited();
    const NginxDirective* proxy_pass = nullptr;
    const NginxDirective* return_directive = nullptr;
    std::vector<const NginxDirective*> nested;
    for (const NginxDirective& directive : location.block) {
      if (directive.name == "proxy_pass") {
        proxy_pass = &directive;
      } else if (directive.name == "location") {
        nested.push_back(&directive);
      } else if (directive.name == "return") {
        return_directive = &directive;
        warnReturn(directive);
      } else if (directive.name == "if" || directive.name == "limit_except") {
        warnings_.unsupported(directive, "conditions are not supported; left out");
      } else if (directive.name == "internal" && mirror_target) {
        // The mirror's own location: nothing to warn about.
      } else if (!readProxySetting(directive, Level::kLocation, settings, context_)) {
        warnUnknownDirective(directive, warnings_);
      }
    }
    for (const NginxDirective* inner : nested) mapLocation(*inner, settings, mirror_uris, drafts);
    if (mirror_target || !path) return;
    if (proxy_pass == nullptr) {
      if (return_directive == nullptr && nested.empty()) {
        warnings_.unsupported(location,
                              "no proxy_pass: Switchyard only proxies (files and "
                              "fixed answers are not served); left out");
      }
      return;
    }
    std::optional<ImportedRoute> route = mapProxyPass(*proxy_pass, *path, settings);
    if (!route) return;
    route->name = uniqueRouteName(*path);
    route->hosts = hosts_;
    route->path_prefix = path->prefix;
    route->origin = "location " + path->as_written + " (" + where(location) + ")";
    drafts.push_back({std::move(*route), path->kind, drafts.size()});
  }

  std::optional<ImportedRoute> mapProxyPass(const NginxDirective& directive,
                                            const LocationPath& path,
                                            const ProxySettings& settings) {
    const std::optional<ProxyPassTarget> target =
        directive.args.size() == 1 ? parseProxyPass(directive.args[0].text) : std::nullopt;
    if (!target) {
      warnings_.unsupported(directive, "only http:// and https:// targets; location left out");
      return std::nullopt;
    }
    if (target->https) {
      warnings_.approximated(directive, "plain HTTP to the backend: TLS not yet supported");
    }
    if (!proxyPassKeepsPath(*target, path.prefix)) {
      warnings_.approximated(directive, "the request path is passed unchanged (the URI part " +
                                            target->uri + " is not applied: no path rewriting)");
    }
    ImportedRoute route;
    if (!target->variable.empty()) {
      if (!mapVariableTarget(directive, *target, route)) return std::nullopt;
    } else {
      route.pool = resolvePool(target->host, directive);
      if (route.pool.empty()) return std::nullopt;
    }
    ImportedPool* pool = context_.config.findPool(route.pool);
    applyTimeouts(*pool, settings, &directive);
    route.retries = retriesOf(settings, *pool);
    route.pool_header = settings.pool_header;
    if (!settings.mirror_uri.empty()) {
      const auto mirror = mirror_pools_.find(settings.mirror_uri);
      if (mirror == mirror_pools_.end() || mirror->second.empty()) {
        if (warned_mirrors_.insert(settings.mirror_directive).second) {
          warnings_.unsupported(*settings.mirror_directive,
                                "no location " + settings.mirror_uri +
                                    " of this server proxies to a backend; no mirror");
        }
      } else if (mirror->second == route.pool) {
        warnings_.unsupported(*settings.mirror_directive,
                              "the mirror pool is the route's own pool; no mirror");
      } else {
        ImportedMirror imported{mirror->second, 100, std::nullopt};
        if (!settings.mirror_request_body) imported.max_body_bytes = 0;
        route.mirror = imported;
      }
    }
    return route;
  }

  bool mapVariableTarget(const NginxDirective& directive, const ProxyPassTarget& target,
                         ImportedRoute& route) {
    const auto found = context_.variables.find(target.variable);
    if (found == context_.variables.end() || !found->second.usable) {
      warnings_.unsupported(directive, "$" + target.variable +
                                           " is not set by a split_clients or by a map of "
                                           "$http_NAME, $cookie_NAME or $arg_NAME; left out");
      return false;
    }
    const VariableSource& source = found->second;
    route.pool = resolvePool(source.default_pool, directive);
    if (route.pool.empty()) return false;
    if (source.canary) {
      const std::string canary_pool = resolvePool(source.canary->pool, directive);
      if (!canary_pool.empty() && canary_pool != route.pool) {
        route.canary = ImportedCanary{canary_pool, source.canary->weight};
        route.sticky = source.sticky;
      }
    }
    for (ImportedRule rule : source.rules) {
      rule.pool = resolvePool(rule.pool, directive);
      if (!rule.pool.empty()) route.rules.push_back(rule);
    }
    return true;
  }

  // The pool an nginx host names: its upstream, or an implicit pool of one backend.
  std::string resolvePool(const std::string& host, const NginxDirective& directive) {
    const std::string upstream = switchyardName(host);
    if (context_.config.findPool(upstream) != nullptr) return upstream;
    if (context_.dropped_upstreams.count(host) != 0) {
      warnings_.unsupported(directive, "upstream " + host + " was left out; so is this route");
      return "";
    }
    const std::optional<std::string> address = backendAddress(host);
    if (!address) {
      warnings_.unsupported(directive, "cannot proxy to \"" + host + "\"; left out");
      return "";
    }
    const std::string name = switchyardName(*address);
    if (context_.config.findPool(name) == nullptr) {
      ImportedPool pool;
      pool.name = name;
      pool.backends.push_back({*address, 1, ""});
      pool.origin = "proxy_pass http://" + host + " (" + where(directive) + ")";
      context_.config.pools.push_back(pool);
    }
    return name;
  }

  // `directive`: the proxy_pass the timeouts apply to, where warnings go; null for a pool no
  // location names, which takes the http-level values silently.
  void applyTimeouts(ImportedPool& pool, const ProxySettings& settings,
                     const NginxDirective* directive) {
    std::optional<std::string> connect;
    std::optional<std::string> response;
    std::optional<std::string> idle;
    auto in_range = [&](std::optional<int64_t> ms, int64_t max, const char* what) {
      if (ms && (*ms < 1 || *ms > max)) {
        if (directive != nullptr && warned_timeouts_.insert(directive).second) {
          warnings_.unsupported(*directive, std::string(what) +
                                                " out of Switchyard's range; "
                                                "the default is used");
        }
        return false;
      }
      return ms.has_value();
    };
    if (in_range(settings.connect_timeout_ms, kHourMs, "proxy_connect_timeout")) {
      connect = switchyardDuration(*settings.connect_timeout_ms);
    }
    if (in_range(settings.read_timeout_ms, kDayMs, "proxy_read_timeout")) {
      response = switchyardDuration(*settings.read_timeout_ms);
    }
    // nginx's read and send timeouts limit each wait for the next read or write: the closest
    // Switchyard key is idle_timeout, the longest silence once the exchange has started.
    std::optional<int64_t> longest = settings.read_timeout_ms;
    if (settings.send_timeout_ms && (!longest || *settings.send_timeout_ms > *longest)) {
      longest = settings.send_timeout_ms;
    }
    if (in_range(longest, kDayMs, "proxy_read_timeout/proxy_send_timeout")) {
      idle = switchyardDuration(*longest);
    }
    if (!connect && !response && !idle) return;
    if (pool.timeouts_set) {
      if (directive != nullptr &&
          (pool.connect_timeout != connect || pool.response_timeout != response ||
           pool.idle_timeout != idle)) {
        warnings_.approximated(*directive, "timeouts are per pool in Switchyard: pool " +
                                               pool.name + " keeps those of its first location");
      }
      return;
    }
    pool.timeouts_set = true;
    pool.connect_timeout = connect;
    pool.response_timeout = response;
    pool.idle_timeout = idle;
  }

  static std::optional<int> retriesOf(const ProxySettings& settings, const ImportedPool& pool) {
    if (settings.next_upstream_off) return 0;
    const int others = static_cast<int>(pool.backends.size()) - 1;
    if (settings.next_upstream_tries && *settings.next_upstream_tries > 0) {
      return std::clamp(*settings.next_upstream_tries - 1, 0, kMaxRetries);
    }
    // nginx's default: as many tries as servers.
    if (settings.next_upstream_seen || settings.next_upstream_tries) {
      return std::clamp(others, 0, kMaxRetries);
    }
    return std::nullopt;
  }

  std::string uniqueRouteName(const LocationPath& path) {
    std::string tail;
    for (char c : path.prefix) {
      if (c == '/') {
        if (!tail.empty() && tail.back() != '-') tail += '-';
      } else {
        tail += c;
      }
    }
    while (!tail.empty() && tail.back() == '-') tail.pop_back();
    if (!tail.empty() && tail.front() == '-') tail.erase(0, 1);
    std::string base = switchyardName(tail.empty() ? label_ : label_ + "-" + tail);
    std::string name = base;
    for (int n = 2; !route_names_.insert(name).second; ++n) name = base + "-" + std::to_string(n);
    return name;
  }

  const ProxySettings& http_;
  ImportContext& context_;
  Warnings& warnings_;
  std::set<std::string> first_listen_set_;
  std::string label_;
  std::vector<std::string> hosts_;
  std::map<std::string, std::string> mirror_pools_;  // mirror URI -> pool
  std::set<const NginxDirective*> warned_mirrors_;
  std::set<const NginxDirective*> warned_timeouts_;
  std::set<std::string> route_names_;
};

}  // namespace

void mapServers(const std::vector<const NginxDirective*>& servers, const ProxySettings& http,
                ImportContext& context) {
  ServerMapper(http, context).run(servers);
}

}  // namespace sy::importer
