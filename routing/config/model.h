#pragma once

// Plain structs mirroring the TOML configuration (see conf/REFERENCE.md for every key).
// Produced by toml_loader.cc, checked there, and turned into an immutable snapshot by
// routing/snapshot_builder.cc. Nothing here knows about TOML or libuv.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/net_address.h"
#include "routing/config/access_log_fields.h"
#include "tls/client_settings.h"
#include "tls/server_settings.h"
#include "upstream/balancer_kind.h"

namespace sy::routing::config {

// Where a value came from, for error messages: "conf/demo.toml:12:5".
struct SourcePosition {
  int line = 0;
  int column = 0;
};

struct ServerConfig {
  uint32_t workers = 0;  // 0 = one per core
  absl::Duration shutdown_timeout = absl::Seconds(30);
  // After SIGTERM the listeners keep accepting this long (readiness already 503) so that an
  // outer load balancer can take the instance out before connections would be refused.
  absl::Duration accept_grace = absl::Seconds(5);
  std::string state_file;  // runtime switch state survives restarts when set
  // After a switch, a pool that no route sends traffic to any more has its idle backend
  // connections closed after this delay.
  absl::Duration switch_drain_delay = absl::Seconds(10);
  // Name servers ("IP:port") for the pools with `resolve = true`; empty: /etc/resolv.conf's.
  std::vector<std::string> dns_servers;
};

// What an admin token may do: `read` sees (GET), `operate` also changes.
enum class AdminRole { kRead, kOperate };

// One named admin token ([[admin.tokens]]): its secret is written in the file or read from the
// environment, exactly one of the two.
struct AdminTokenConfig {
  std::string name;  // recorded with every change it makes (`by`)
  std::string token;
  std::string token_env;
  AdminRole role = AdminRole::kOperate;
};

struct AdminConfig {
  std::string listen_text = "127.0.0.1:9901";
  core::NetAddress listen;
  std::string token;      // bearer token; empty = none (a token named "admin", operate)
  std::string token_env;  // name of an environment variable holding the token
  std::vector<AdminTokenConfig> tokens;
  // Set: /healthz, /readyz and /metrics are served there too, read-only and without a token.
  std::string probes_listen_text;  // empty: no probes listener
  core::NetAddress probes_listen;
  // Host names the admin listener answers to besides IP literals and "localhost" (a browser
  // reaching it by a DNS name); "*" turns the check off. Guards against DNS rebinding.
  std::vector<std::string> allowed_hosts;
  uint32_t max_connections = 64;                       // more are accepted and closed at once
  absl::Duration request_timeout = absl::Seconds(10);  // first byte to last of one request
  absl::Duration idle_timeout = absl::Seconds(60);     // keep-alive with no request
  // Present: the admin API speaks HTTPS (a listener's tls keys, plus client_ca for
  // client-certificate authentication). Re-read on every reload, like the listeners'.
  std::optional<tls::ServerSettings> tls;
};

// Where a request's id comes from (request_id_mode).
enum class RequestIdMode {
  kIfAbsent,  // the client's id (or its traceparent's trace-id) is kept; generated otherwise
  kAlways,    // always generated, replacing any the client sent
};

// JSON access log: one line per request, off unless the [access_log] table is present.
struct AccessLogConfig {
  std::string path = "-";  // "-": standard output; else a file opened for appending
  absl::Duration flush_interval = absl::Seconds(1);
  uint32_t buffer_bytes = 64 * 1024;  // per worker; a full buffer is written at once
  // The keys of a line, in order (access_log_fields.h); empty: the default set.
  std::vector<AccessLogField> fields;
};

// What happens to a request whose path is not in normal form ("/a/../b", "/a//b").
enum class PathNormalization {
  kForward,  // routed on the normal form, which is also what the backend gets
  kReject,   // answered with 400
};

struct ListenerConfig {
  std::string name;
  std::string listen_text;
  core::NetAddress listen;
  absl::Duration header_timeout = absl::Seconds(10);     // whole request head (slowloris)
  absl::Duration keepalive_timeout = absl::Seconds(75);  // idle between requests
  absl::Duration client_timeout = absl::Seconds(60);     // client inactivity mid-request
  bool abort_on_client_close = true;  // client EOF before the response: give the request up
  uint32_t max_url_bytes = 8 * 1024;
  uint32_t max_header_bytes = 32 * 1024;
  uint32_t max_headers = 100;
  uint32_t backlog = 511;
  PathNormalization path_normalization = PathNormalization::kForward;
  bool merge_slashes = true;         // "//" counts as "/"
  bool allow_encoded_slash = false;  // %2F, %5C and "\" in paths accepted, kept as they are
  // Limits against abusive clients (conf/REFERENCE.md, "Client limits"). 0 = no limit.
  uint32_t max_connections = 0;         // open client connections, all workers together
  uint32_t max_connections_per_ip = 0;  // per client address, per worker
  double rate_limit = 0;                // requests per second per client address, per worker
  uint32_t rate_limit_burst = 0;        // bucket size; 0: one second's worth (at least 1)
  uint32_t client_table_size = 100000;  // addresses remembered for rate limits, all workers
  // Peers whose X-Forwarded-For names the client ("10.0.0.0/8"); canonical text.
  std::vector<std::string> trusted_proxies;
  // Every connection starts with a PROXY protocol header (v1 or v2) from a peer in
  // trusted_proxies, whose source address is the client from then on.
  bool proxy_protocol = false;
  // HTTP/2 from clients: h2c with prior knowledge on a plain listener, h2 offered in ALPN on a
  // TLS one; HTTP/1.1 keeps working on the same listener. Unset: on with tls, off without.
  bool http2 = false;
  // HTTP/2 limits and defences (proxy/h2_limits.h; conf/REFERENCE.md, "HTTP/2 limits").
  uint32_t http2_max_concurrent_streams = 128;  // SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t http2_max_header_list_size = 65536;  // SETTINGS_MAX_HEADER_LIST_SIZE, enforced
  uint32_t http2_hpack_table_size = 4096;       // requests' HPACK dynamic table
  // Responses' HPACK dynamic table: 0 (none, as nginx) keeps idle connections ~0.5 KiB
  // smaller but costs CPU per response (Huffman-coding every field).
  uint32_t http2_response_hpack_table_size = 4096;
  uint32_t http2_max_resets = 1000;  // client RST_STREAMs per reset interval
  absl::Duration http2_reset_interval = absl::Seconds(30);
  // A client that keeps response data from moving (zero flow-control window, or a socket it
  // does not read) for this long loses the connection.
  absl::Duration http2_stall_timeout = absl::Seconds(30);
  // Present: the listener terminates TLS (conf/REFERENCE.md, "TLS"). Certificates are re-read
  // on every reload, unlike the listener's address.
  std::optional<tls::ServerSettings> tls;
  // A plain listener that answers every request 308 to https://<host><target>, adding
  // ":https_port" when it is not 443.
  bool redirect_to_https = false;
  uint32_t https_port = 443;
  // Request shaping, part B (conf/REFERENCE.md): the largest request body, 0 for no limit.
  uint64_t max_body = 0;
  std::string request_id;  // header carrying the request id; empty: no request id
  RequestIdMode request_id_mode = RequestIdMode::kIfAbsent;
  SourcePosition position;
};

struct BackendConfig {
  std::string address_text;
  core::NetAddress address;
  uint32_t weight = 1;
  // In a pool with `resolve = true`, a backend given by name ("api.internal:8080"): `host` is
  // the name the control thread follows in DNS and `address` stays unset; the configuration in
  // force has one backend per address in its place (routing/followed_backends.h).
  std::string host;
  uint16_t port = 0;
  // Or a backend given by an SRV record (`{ srv = "_http._tcp.api.internal" }`, address_text is
  // the record's name): its targets' addresses, with the records' ports and weights.
  std::string srv;
  SourcePosition position;

  bool followed() const { return !host.empty() || !srv.empty(); }
};

// The balancers own these types (upstream/ sits below routing/); the config names them here.
using BalancerKind = upstream::BalancerKind;
using HashKeyConfig = upstream::HashKeyConfig;

// Active health checks of a pool's backends, run by the control thread.
struct HealthCheckConfig {
  enum class Type { kHttp, kTcp };
  Type type = Type::kHttp;
  std::string path = "/health";
  std::string method = "GET";
  std::string host;  // Host header; empty: the backend's address
  // Expected statuses as inclusive ranges; default 200-399.
  std::vector<std::pair<int, int>> statuses = {{200, 399}};
  std::string body_contains;  // empty: any body
  absl::Duration interval = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(2);
  absl::Duration jitter = absl::ZeroDuration();  // up to this much added to each interval
  uint32_t healthy_threshold = 2;                // consecutive passes: unhealthy -> healthy (rise)
  uint32_t unhealthy_threshold = 3;        // consecutive failures: healthy -> unhealthy (fall)
  bool traffic_before_first_check = true;  // a backend in state unknown gets traffic
};

// Passive health: backends that fail live requests are ejected for a while.
struct OutlierDetectionConfig {
  uint32_t consecutive_failures = 5;  // 0 disables passive ejection
  absl::Duration base_ejection_time = absl::Seconds(30);
  absl::Duration max_ejection_time = absl::Seconds(300);
  uint32_t max_ejection_percent = 50;
};

enum class AllDownPolicy { kFail, kPanic };

struct PoolConfig {
  std::string name;
  BalancerKind balancer = BalancerKind::kRoundRobin;
  std::optional<HashKeyConfig> hash_key;  // required when balancer is kHash
  std::vector<BackendConfig> backends;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration response_timeout = absl::Seconds(60);   // request sent -> response head
  absl::Duration idle_timeout = absl::Seconds(60);       // no progress mid-exchange
  absl::Duration keepalive_timeout = absl::Seconds(60);  // pooled idle connections
  uint32_t keepalive_max_idle = 32;                      // per worker and backend
  std::optional<HealthCheckConfig> health_check;         // none: backends are not checked
  OutlierDetectionConfig outlier_detection;
  AllDownPolicy when_all_down = AllDownPolicy::kFail;  // no usable backend: 503, or all
  std::optional<tls::ClientSettings> tls;              // set: TLS to the backends
  // Backends given by name are re-resolved in the background, every address one backend; the
  // record's TTL, clamped to [resolve_min_interval, resolve_max_interval], sets when.
  bool resolve = false;
  absl::Duration resolve_min_interval = absl::Seconds(1);
  absl::Duration resolve_max_interval = absl::Minutes(5);
  SourcePosition position;

  bool followsDns() const {
    for (const auto& backend : backends) {
      if (backend.followed()) return true;
    }
    return false;
  }
};

// A request attribute that sends matching requests to a fixed pool, before any weighted split
// (A/B tests, "x-version: canary" for testers).
struct MatchRuleConfig {
  enum class Source { kHeader, kCookie, kQuery };
  enum class Op { kEquals, kPrefix, kPresent };
  Source source = Source::kHeader;
  std::string name;  // header (lower-cased), cookie or query parameter name
  Op op = Op::kEquals;
  std::string value;  // for kEquals and kPrefix
  std::string pool;
  SourcePosition position;
};

// A share of the route's traffic for a second pool.
struct CanaryConfig {
  std::string pool;
  double weight = 0;  // percent of the route's traffic, 0..100, decimals allowed
};

// Shadow traffic: a copy of a share of the route's requests goes to another pool; its answers
// are read and thrown away.
struct MirrorConfig {
  std::string pool;
  double percent = 0;                          // share of requests copied, 0..100
  std::vector<std::string> methods;            // empty: every method
  uint64_t max_body_bytes = 1024 * 1024;       // larger bodies are not copied
  std::string host_suffix;                     // appended to Host for the copy; empty keeps it
  std::string header = "X-Switchyard-Mirror";  // added to the copy with value 1; empty: none
  absl::Duration timeout = absl::Seconds(10);  // a whole mirrored exchange
  uint32_t max_in_flight = 100;                // per worker; more copies are dropped
  uint64_t max_buffer_bytes = 1024 * 1024;     // per copy, unsent bytes; beyond: dropped
};

// A route's header operations on requests (request_headers) or responses (response_headers).
// Values are templates (http/value_template.h), checked when the file is read.
struct HeaderRulesConfig {
  std::map<std::string, std::string> set;  // name -> value: replaces every field of that name
  std::map<std::string, std::string> add;  // name -> value: appended, received fields kept
  std::vector<std::string> remove;         // names dropped
};

// rewrite = { pattern = "^/old/(.*)$", replacement = "/new/\\1" } (RE2 syntax).
struct PathRewriteConfig {
  std::string pattern;
  std::string replacement;
};

// The route answers with a redirect instead of forwarding.
struct RedirectConfig {
  int status = 302;
  std::string location;  // a template ("https://{host}{path}")
};

// The route answers with a fixed response instead of forwarding.
struct RespondConfig {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

struct RouteConfig {
  std::string name;
  std::vector<std::string> hosts;  // "example.com" or "*.example.com"; empty = any host
  // SNI names ("api.example.com", "*.example.com": one label); empty = any connection.
  std::vector<std::string> sni;
  std::string path_prefix = "/";
  std::string pool;
  uint32_t retries = 2;                 // further tries on other backends (idempotent requests)
  std::vector<MatchRuleConfig> rules;   // first match wins, before the canary split
  std::optional<CanaryConfig> canary;   // initial canary (the admin API changes it live)
  std::optional<HashKeyConfig> sticky;  // what the canary split hashes; none: per request
  std::string pool_header;              // response header naming the pool; empty: none
  std::optional<MirrorConfig> mirror;
  // Replaces the listener's rate limit for this route's requests; 0 exempts the route.
  std::optional<double> rate_limit;
  uint32_t rate_limit_burst = 0;  // 0: one second's worth (at least 1)
  // Request shaping (conf/REFERENCE.md, "Request shaping").
  std::optional<HeaderRulesConfig> request_headers;
  std::optional<HeaderRulesConfig> response_headers;
  std::string strip_prefix;  // empty: none
  std::string add_prefix;    // empty: none
  std::optional<PathRewriteConfig> rewrite;
  // Set: the route answers locally and has no pool (`pool` is empty).
  std::optional<RedirectConfig> redirect;
  std::optional<RespondConfig> respond;
  // Replace the listener's (max_body = 0: no limit for this route).
  std::optional<uint64_t> max_body;
  std::optional<std::string> request_id;  // "" turns the listener's off for this route
  std::optional<RequestIdMode> request_id_mode;
  SourcePosition position;

  bool answersLocally() const { return redirect.has_value() || respond.has_value(); }
};

// A rollout declared in the file ([[rollouts]]): the fields of a POST /admin/rollouts body, kept
// as JSON text. The rollout parser lives above this layer (proxy/control/rollout_declarations.h
// checks and starts them); here the tables are only read and placed.
struct RolloutDeclarationConfig {
  std::string spec_json = "{}";
  std::string key;                                      // "rollouts[0]"
  SourcePosition position;                              // of the table
  std::map<std::string, SourcePosition> key_positions;  // of each key of the table
};

// [fleet]: several instances share their runtime traffic state through etcd v3
// (proxy/control/fleet_sync.h). Absent: the instance keeps its state to itself.
struct FleetConfig {
  // etcd client URLs ("http://127.0.0.1:2379"), tried in order; the JSON gateway (/v3/...).
  std::vector<std::string> etcd;
  // Key prefix of this fleet ("/switchyard/prod"): the state is PREFIX/state, the live
  // instances PREFIX/instances/ID.
  std::string prefix;
  // This instance's name in the fleet; empty: "HOSTNAME:ADMIN_PORT", made at start.
  std::string instance_id;
  // The lease of the instance's registration: it disappears this long after the instance died.
  absl::Duration lease_ttl = absl::Seconds(10);
  // Bound of one etcd request (not of the watch), connect included.
  absl::Duration request_timeout = absl::Seconds(2);
  // How long to wait between two attempts to reach etcd again after it was lost.
  absl::Duration reconnect_interval = absl::Milliseconds(500);
  // TLS to https:// endpoints: the CA bundle to verify etcd with (empty: the system's), the
  // client certificate and key (etcd --client-cert-auth), and the name to verify etcd's
  // certificate against when the URLs name addresses (empty: the URL's host).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  // etcd authentication (etcd auth enable): the user, and the environment variable holding its
  // password (never the password itself: the file is often world-readable or versioned).
  std::string username;
  std::string password_env;
};

struct Config {
  std::string path;  // file it was read from
  ServerConfig server;
  AdminConfig admin;
  std::optional<FleetConfig> fleet;
  std::optional<AccessLogConfig> access_log;
  std::vector<ListenerConfig> listeners;
  std::vector<PoolConfig> pools;
  std::vector<RouteConfig> routes;
  std::vector<RolloutDeclarationConfig> rollouts;

  const PoolConfig* findPool(std::string_view name) const {
    for (const PoolConfig& pool : pools) {
      if (pool.name == name) return &pool;
    }
    return nullptr;
  }
};

struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // "pools[1].backends[0].address"; empty for file-level errors
  std::string message;

  // "file:line:column: key: message"
  std::string toString() const;
};

}  // namespace sy::routing::config
