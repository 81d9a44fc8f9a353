#include "import/upstream_mapper.h"

#include <algorithm>

#include "import/directive_catalog.h"
#include "import/nginx_values.h"

namespace sy::importer {
namespace {

constexpr int kMaxWeight = 1000;          // Switchyard's weight range is 1 to 1000
constexpr int kMaxKeepaliveIdle = 10000;  // keepalive_max_idle range
constexpr int64_t kMaxKeepaliveMs = int64_t{3600} * 1000;
constexpr int64_t kMaxEjectionMs = int64_t{24} * 3600 * 1000;
constexpr int kNginxDefaultMaxFails = 1;
constexpr int64_t kNginxDefaultFailTimeoutMs = 10 * 1000;

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::optional<int> parseCount(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// One `server` line of an upstream block.
struct UpstreamServer {
  const NginxDirective* directive = nullptr;
  ImportedBackend backend;
  bool spare = false;  // backup or down: kept out of the pool when there are others
  std::optional<int> max_fails;
  std::optional<int64_t> fail_timeout_ms;
};

class UpstreamMapper {
 public:
  UpstreamMapper(const NginxDirective& upstream, ImportContext& context)
      : upstream_(upstream), context_(context), warnings_(context.warnings) {}

  void run() {
    if (upstream_.args.size() != 1 || !upstream_.has_block) {
      warnings_.unsupported(upstream_, "expected `upstream NAME { ... }`; left out");
      return;
    }
    pool_.name = switchyardName(upstream_.args[0].text);
    pool_.origin = "upstream " + upstream_.args[0].text + " (" + upstream_.position.file + ":" +
                   std::to_string(upstream_.position.line) + ")";
    for (const NginxDirective& directive : upstream_.block) mapDirective(directive);
    finishBackends();
    if (pool_.backends.empty()) {
      warnings_.unsupported(upstream_, "no usable server in the upstream; pool left out");
      context_.dropped_upstreams.insert(upstream_.args[0].text);
      return;
    }
    finishOutlierDetection();
    if (context_.config.findPool(pool_.name) != nullptr) {
      warnings_.unsupported(upstream_, "a pool named \"" + pool_.name + "\" exists; left out");
      return;
    }
    context_.config.pools.push_back(std::move(pool_));
  }

 private:
  void mapDirective(const NginxDirective& directive) {
    const std::string& name = directive.name;
    if (name == "server") {
      mapServer(directive);
    } else if (name == "least_conn") {
      pool_.balancer = "least_request";
    } else if (name == "ip_hash") {
      pool_.balancer = "hash";
      pool_.hash_key = "client_ip";
      warnings_.approximated(directive,
                             "balancer = \"hash\" with hash_key = \"client_ip\" (nginx hashes "
                             "the first three octets of an IPv4 address, Switchyard the whole "
                             "address, on a consistent hash ring)");
    } else if (name == "hash") {
      mapHash(directive);
    } else if (name == "keepalive") {
      const std::optional<int> count =
          directive.args.size() == 1 ? parseCount(directive.args[0].text) : std::nullopt;
      if (!count) {
        warnings_.unsupported(directive, "expected `keepalive COUNT`; left out");
      } else {
        pool_.keepalive_max_idle = std::min(*count, kMaxKeepaliveIdle);
        if (*count > kMaxKeepaliveIdle) {
          warnings_.approximated(directive, "keepalive_max_idle = 10000 (the largest allowed)");
        }
      }
    } else if (name == "keepalive_timeout") {
      const std::optional<int64_t> ms =
          directive.args.size() == 1 ? parseNginxTime(directive.args[0].text) : std::nullopt;
      if (!ms || *ms < 1 || *ms > kMaxKeepaliveMs) {
        warnings_.unsupported(directive, "keepalive_timeout (pools) takes 1ms to 1h; left out");
      } else {
        pool_.keepalive_timeout = switchyardDuration(*ms);
      }
    } else if (name == "zone") {
      warnings_.ignored(directive, "shared memory zones have no meaning for Switchyard");
    } else if (name == "random" || name == "least_time" || name == "sticky" || name == "queue" ||
               name == "ntlm" || name == "keepalive_requests" || name == "keepalive_time" ||
               name == "resolver") {
      warnings_.unsupported(directive, "no Switchyard equivalent; left out");
    } else {
      warnUnknownDirective(directive, warnings_);
    }
  }

  void mapHash(const NginxDirective& directive) {
    if (directive.args.empty()) {
      warnings_.unsupported(directive, "expected `hash KEY [consistent]`; left out");
      return;
    }
    const std::string& key = directive.args[0].text;
    const std::string variable = firstVariable(key);
    const bool whole_variable = key == "$" + variable || key == "${" + variable + "}";
    const std::optional<std::string> hash_key =
        whole_variable ? requestKeyOfVariable(variable) : std::nullopt;
    if (!hash_key) {
      warnings_.unsupported(directive,
                            "Switchyard hashes a header, a cookie or the client address only "
                            "($http_NAME, $cookie_NAME, $remote_addr); round_robin used");
      return;
    }
    pool_.balancer = "hash";
    pool_.hash_key = *hash_key;
    const bool consistent = directive.args.size() == 2 && directive.args[1].text == "consistent";
    if (!consistent) {
      warnings_.approximated(directive, "balancer = \"hash\", hash_key = \"" + *hash_key +
                                            "\" (always a consistent hash ring in Switchyard)");
    }
  }

  void mapServer(const NginxDirective& directive) {
    if (directive.args.empty()) {
      warnings_.unsupported(directive, "expected `server ADDRESS [parameters]`; left out");
      return;
    }
    UpstreamServer server;
    server.directive = &directive;
    const std::optional<std::string> address = backendAddress(directive.args[0].text);
    if (!address) {
      warnings_.unsupported(directive,
                            "only host:port backends are supported (no unix: "
                            "sockets); server left out");
      return;
    }
    server.backend.address = *address;
    for (size_t i = 1; i < directive.args.size(); ++i) {
      const std::string& param = directive.args[i].text;
      if (startsWith(param, "weight=")) {
        const std::optional<int> weight = parseCount(param.substr(7));
        if (!weight || *weight < 1) {
          warnings_.unsupported(directive, "invalid " + param + "; weight 1 used");
        } else if (*weight > kMaxWeight) {
          server.backend.weight = kMaxWeight;
          warnings_.approximated(directive, "weight = 1000 (the largest allowed)");
        } else {
          server.backend.weight = *weight;
        }
      } else if (startsWith(param, "max_fails=")) {
        server.max_fails = parseCount(param.substr(10));
        if (!server.max_fails) warnings_.unsupported(directive, "invalid " + param);
      } else if (startsWith(param, "fail_timeout=")) {
        server.fail_timeout_ms = parseNginxTime(param.substr(13));
        if (!server.fail_timeout_ms) warnings_.unsupported(directive, "invalid " + param);
      } else if (param == "backup" || param == "down") {
        server.spare = true;
        server.backend.comment = "nginx: " + param;
      } else {
        warnings_.unsupported(directive, "server parameter " + param +
                                             " has no Switchyard "
                                             "equivalent; left out");
      }
    }
    servers_.push_back(std::move(server));
  }

  // Backup and down servers stay out of the pool: Switchyard has no standby backend, and a
  // backend taken out is disabled through the admin API rather than in the file.
  void finishBackends() {
    bool has_active = std::any_of(servers_.begin(), servers_.end(),
                                  [](const UpstreamServer& s) { return !s.spare; });
    for (const UpstreamServer& server : servers_) {
      const bool keep = !server.spare || !has_active;
      const bool duplicate = std::any_of(
          pool_.backends.begin(), pool_.backends.end(),
          [&](const ImportedBackend& b) { return b.address == server.backend.address; });
      if (server.spare) {
        warnings_.approximated(
            *server.directive,
            keep ? "kept in the pool as an ordinary backend (every server is backup or down)"
                 : "left out of the pool (Switchyard has no backup servers; a backend is taken "
                   "out with POST /admin/pools/POOL/backends/ADDRESS/disable)");
      }
      if (!keep) continue;
      if (duplicate) {
        for (ImportedBackend& backend : pool_.backends) {
          if (backend.address == server.backend.address) {
            backend.weight = std::min(kMaxWeight, backend.weight + server.backend.weight);
          }
        }
        warnings_.approximated(*server.directive,
                               "the same address twice: merged into one backend, weights added");
        continue;
      }
      pool_.backends.push_back(server.backend);
    }
  }

  // nginx's max_fails/fail_timeout are per server; Switchyard's outlier detection is per pool.
  void finishOutlierDetection() {
    const UpstreamServer* first = nullptr;
    for (const UpstreamServer& server : servers_) {
      if (server.max_fails || server.fail_timeout_ms) {
        first = &server;
        break;
      }
    }
    if (first == nullptr) return;
    const int max_fails = first->max_fails.value_or(kNginxDefaultMaxFails);
    const int64_t fail_timeout = std::clamp<int64_t>(
        first->fail_timeout_ms.value_or(kNginxDefaultFailTimeoutMs), 1, kMaxEjectionMs);
    for (const UpstreamServer& server : servers_) {
      if (server.max_fails.value_or(kNginxDefaultMaxFails) != max_fails ||
          server.fail_timeout_ms.value_or(kNginxDefaultFailTimeoutMs) !=
              first->fail_timeout_ms.value_or(kNginxDefaultFailTimeoutMs)) {
        warnings_.approximated(*server.directive, "outlier detection is per pool: the values of " +
                                                      first->directive->summary() +
                                                      " apply to every backend");
      }
    }
    ImportedOutlier outlier;
    outlier.consecutive_failures = std::min(max_fails, 1000);
    outlier.base_ejection_time = switchyardDuration(fail_timeout);
    outlier.max_ejection_time = switchyardDuration(fail_timeout);  // nginx never backs off
    pool_.outlier_detection = outlier;
  }

  const NginxDirective& upstream_;
  ImportContext& context_;
  Warnings& warnings_;
  ImportedPool pool_;
  std::vector<UpstreamServer> servers_;
};

}  // namespace

void mapUpstream(const NginxDirective& upstream, ImportContext& context) {
  UpstreamMapper(upstream, context).run();
}

}  // namespace sy::importer
