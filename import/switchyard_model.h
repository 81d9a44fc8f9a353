#pragma once

// The Switchyard configuration the import builds, key for key as in conf/REFERENCE.md, before
// it is written out as TOML. Optional members are keys left out (Switchyard's default applies).
// `origin` says which nginx directive an element came from, for the comments in the output.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sy::importer {

struct ImportedCertificate {
  std::string cert;  // absolute paths: nginx reads relative ones from its configuration folder
  std::string key;
};

// The listener's `tls` table, from `listen ... ssl` and the ssl_* directives of its servers.
struct ImportedTls {
  std::vector<ImportedCertificate> certificates;  // every server's pairs, the first server's first
  std::optional<std::string> min_version;         // ssl_protocols: "1.2" or "1.3"
  std::optional<std::string> ciphers;             // ssl_ciphers
  std::optional<std::string> curves;              // ssl_ecdh_curve
  bool strict_sni = false;                        // ssl_reject_handshake on in the default server
};

struct ImportedListener {
  std::string name;
  std::string listen;  // "host:port"
  std::optional<std::string> keepalive_timeout;
  std::optional<std::string> header_timeout;
  std::optional<std::string> client_timeout;
  std::optional<int> backlog;
  std::optional<ImportedTls> tls;  // `listen ... ssl`
  bool http2 = false;              // `listen ... http2` or `http2 on`
  std::string origin;
};

struct ImportedBackend {
  std::string address;
  int weight = 1;
  std::string comment;
};

struct ImportedOutlier {
  int consecutive_failures = 5;
  std::string base_ejection_time;
  std::string max_ejection_time;
};

struct ImportedPool {
  std::string name;
  std::vector<ImportedBackend> backends;
  std::string balancer;  // empty: the default (round_robin)
  std::string hash_key;
  std::optional<int> keepalive_max_idle;
  std::optional<std::string> keepalive_timeout;
  std::optional<std::string> connect_timeout;
  std::optional<std::string> response_timeout;
  std::optional<std::string> idle_timeout;
  std::optional<ImportedOutlier> outlier_detection;
  std::string origin;
  bool timeouts_set = false;  // the proxy_*_timeout of a location were applied already
};

struct ImportedRule {
  std::string attribute;  // "header", "cookie" or "query"
  std::string name;
  std::string comparison;  // "equals" or "prefix"
  std::string value;
  std::string pool;
};

struct ImportedCanary {
  std::string pool;
  double weight = 0;
};

struct ImportedMirror {
  std::string pool;
  double percent = 100;
  std::optional<uint64_t> max_body_bytes;
};

struct ImportedRoute {
  std::string name;
  std::vector<std::string> hosts;
  std::string path_prefix = "/";
  std::string pool;
  std::optional<int> retries;
  std::vector<ImportedRule> rules;
  std::optional<ImportedCanary> canary;
  std::string sticky;
  std::string pool_header;
  std::optional<ImportedMirror> mirror;
  std::string origin;
};

struct ImportedAccessLog {
  std::string path;
  std::string origin;
};

struct ImportedConfig {
  std::string source;  // the main nginx file
  std::vector<ImportedListener> listeners;
  std::vector<ImportedPool> pools;
  std::vector<ImportedRoute> routes;
  std::optional<ImportedAccessLog> access_log;

  ImportedPool* findPool(const std::string& name) {
    for (ImportedPool& pool : pools) {
      if (pool.name == name) return &pool;
    }
    return nullptr;
  }
};

}  // namespace sy::importer
