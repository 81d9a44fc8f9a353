// The configuration loader (routing/config): TOML text in, checked Config out, then the
// snapshot the workers would route with.
//
// Invariants: nothing escapes as an exception; a text loads or yields at least one error, never
// both; loading is deterministic (the same text gives the same configuration or the same
// errors, and a trailing comment changes nothing); every error carries a message and renders as
// one line; a loaded configuration is consistent (unique pool and route names, every pool a
// route, rule, canary or mirror names exists, shares within 0..100) and builds a snapshot whose
// routes point at real pools.
//
// Backend addresses may be host names, resolved while loading: this binary answers name lookups
// itself (see __wrap_getaddrinfo) so that fuzzing never waits for DNS.

#include <netdb.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fuzz_support.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"

extern "C" int __real_getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                                  addrinfo** result);
// Linked with -Wl,--wrap=getaddrinfo: only "localhost" is resolved (from /etc/hosts); every
// other name is unknown, at once.
extern "C" int __wrap_getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                                  addrinfo** result) {
  if (node != nullptr && std::strcmp(node, "localhost") == 0) {
    return __real_getaddrinfo(node, service, hints, result);
  }
  return EAI_NONAME;
}

namespace sy::fuzz {
namespace {

using routing::config::Config;

std::string describe(const Config& c) {
  std::string out;
  absl::StrAppend(&out, "server ", c.server.workers, " ",
                  absl::FormatDuration(c.server.shutdown_timeout), " ", c.server.state_file, " ",
                  absl::FormatDuration(c.server.switch_drain_delay), "\n");
  absl::StrAppend(&out, "admin ", c.admin.listen_text, " ", c.admin.listen.toString(), " ",
                  c.admin.token, " ", c.admin.token_env, " ", c.admin.max_connections, " ",
                  absl::FormatDuration(c.admin.request_timeout), " ",
                  absl::FormatDuration(c.admin.idle_timeout), "\n");
  if (c.access_log) {
    absl::StrAppend(&out, "log ", c.access_log->path, " ",
                    absl::FormatDuration(c.access_log->flush_interval), " ",
                    c.access_log->buffer_bytes, "\n");
  }
  for (const auto& l : c.listeners) {
    absl::StrAppend(
        &out, "listener ", l.name, " ", l.listen_text, " ", l.listen.toString(), " ",
        absl::FormatDuration(l.header_timeout), " ", absl::FormatDuration(l.keepalive_timeout), " ",
        absl::FormatDuration(l.client_timeout), " ", l.abort_on_client_close, " ", l.max_url_bytes,
        " ", l.max_header_bytes, " ", l.max_headers, " ", l.backlog, "\n");
  }
  for (const auto& p : c.pools) {
    absl::StrAppend(
        &out, "pool ", p.name, " ", static_cast<int>(p.balancer), " ",
        p.hash_key ? p.hash_key->text : "-", " ", absl::FormatDuration(p.connect_timeout), " ",
        absl::FormatDuration(p.response_timeout), " ", absl::FormatDuration(p.idle_timeout), " ",
        absl::FormatDuration(p.keepalive_timeout), " ", p.keepalive_max_idle, " ",
        p.outlier_detection.consecutive_failures, " ",
        absl::FormatDuration(p.outlier_detection.base_ejection_time), " ",
        absl::FormatDuration(p.outlier_detection.max_ejection_time), " ",
        p.outlier_detection.max_ejection_percent, " ", static_cast<int>(p.when_all_down), "\n");
    for (const auto& b : p.backends) {
      absl::StrAppend(&out, "  backend ", b.address_text, " ", b.address.toString(), " ", b.weight,
                      "\n");
    }
    if (const auto& h = p.health_check) {
      absl::StrAppend(&out, "  check ", static_cast<int>(h->type), " ", h->path, " ", h->method,
                      " ", h->host, " ", h->body_contains, " ", absl::FormatDuration(h->interval),
                      " ", absl::FormatDuration(h->timeout), " ", absl::FormatDuration(h->jitter),
                      " ", h->healthy_threshold, " ", h->unhealthy_threshold, " ",
                      h->traffic_before_first_check);
      for (const auto& [low, high] : h->statuses) absl::StrAppend(&out, " ", low, "-", high);
      out += "\n";
    }
  }
  for (const auto& r : c.routes) {
    absl::StrAppend(&out, "route ", r.name, " ", r.path_prefix, " ", r.pool, " ", r.retries, " ",
                    r.sticky ? r.sticky->text : "-", " ", r.pool_header, "\n");
    for (const auto& h : r.hosts) absl::StrAppend(&out, "  host ", h, "\n");
    for (const auto& rule : r.rules) {
      absl::StrAppend(&out, "  rule ", static_cast<int>(rule.source), " ", rule.name, " ",
                      static_cast<int>(rule.op), " ", rule.value, " ", rule.pool, "\n");
    }
    if (r.canary) absl::StrAppend(&out, "  canary ", r.canary->pool, " ", r.canary->weight, "\n");
    if (const auto& m = r.mirror) {
      absl::StrAppend(&out, "  mirror ", m->pool, " ", m->percent, " ", m->max_body_bytes, " ",
                      m->host_suffix, " ", m->header, " ", absl::FormatDuration(m->timeout), " ",
                      m->max_in_flight, " ", m->max_buffer_bytes);
      for (const auto& method : m->methods) absl::StrAppend(&out, " ", method);
      out += "\n";
    }
  }
  return out;
}

std::string describe(const routing::config::LoadResult& result) {
  if (result.config) return describe(*result.config);
  return routing::config::formatErrors(result.errors);
}

routing::config::LoadResult load(std::string_view text) {
  try {
    return routing::config::parseConfigText(text, "fuzz.toml");
  } catch (...) {
    fail("parseConfigText threw (it must turn every error into a ConfigError)");
  }
}

void checkLoaded(const Config& config) {
  std::set<std::string> pools;
  for (const auto& pool : config.pools) {
    SY_FUZZ_CHECK(pools.insert(pool.name).second, "two pools with one name");
    SY_FUZZ_CHECK(!pool.backends.empty(), "a pool without backends loaded");
  }
  std::set<std::string> routes;
  for (const auto& route : config.routes) {
    SY_FUZZ_CHECK(routes.insert(route.name).second, "two routes with one name");
    SY_FUZZ_CHECK(route.answersLocally() ? route.pool.empty() : pools.count(route.pool) == 1,
                  "a route names a pool that does not exist, or answers itself and names one");
    for (const auto& rule : route.rules)
      SY_FUZZ_CHECK(pools.count(rule.pool) == 1, "a rule names a missing pool");
    if (route.canary) {
      SY_FUZZ_CHECK(pools.count(route.canary->pool) == 1, "the canary names a missing pool");
      SY_FUZZ_CHECK(route.canary->weight >= 0 && route.canary->weight <= 100,
                    "canary weight outside 0..100");
    }
    if (route.mirror) {
      SY_FUZZ_CHECK(route.mirror->percent >= 0 && route.mirror->percent <= 100,
                    "mirror percent outside 0..100");
      SY_FUZZ_CHECK(route.mirror->percent == 0 || pools.count(route.mirror->pool) == 1,
                    "the mirror names a missing pool");
    }
  }
  routing::SnapshotBuilder builder;
  const auto snapshot = builder.build(std::make_shared<Config>(config));
  SY_FUZZ_CHECK(snapshot->pools.size() == config.pools.size(), "snapshot lost pools");
  SY_FUZZ_CHECK(snapshot->routes.routes().size() == config.routes.size(), "snapshot lost routes");
  for (const auto& route : snapshot->routes.routes()) {
    SY_FUZZ_CHECK(route.pool_index < snapshot->pools.size(), "route pool index out of range");
    SY_FUZZ_CHECK(route.canary_pool_index < static_cast<int32_t>(snapshot->pools.size()),
                  "canary index out of range");
    SY_FUZZ_CHECK(route.canary_ppm <= routing::kMillion, "canary share above 100%");
    SY_FUZZ_CHECK(route.mirror_ppm <= routing::kMillion, "mirror share above 100%");
    for (const auto& rule : route.rules)
      SY_FUZZ_CHECK(rule.pool_index < snapshot->pools.size(), "rule pool out of range");
    SY_FUZZ_CHECK(route.stats_by_pool.size() == snapshot->pools.size(), "route stats not per pool");
  }
}

}  // namespace
}  // namespace sy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const routing::config::LoadResult first = fuzz::load(text);
  SY_FUZZ_CHECK(first.config.has_value() != !first.errors.empty(), "loaded and failed at once");
  for (const auto& error : first.errors) {
    SY_FUZZ_CHECK(!error.message.empty(), "an error without a message");
  }
  const std::string listed = routing::config::formatErrors(first.errors);
  size_t lines = 0;
  for (char c : listed) lines += c == '\n' ? 1 : 0;
  SY_FUZZ_CHECK(lines == first.errors.size(), "an error message spans several lines");

  const std::string description = fuzz::describe(first);
  SY_FUZZ_CHECK(fuzz::describe(fuzz::load(text)) == description,
                "loading twice gives different results");
  if (first.config) {
    fuzz::checkLoaded(*first.config);
    const std::string commented = std::string(text) + "\n# a trailing comment\n";
    const routing::config::LoadResult again = fuzz::load(commented);
    SY_FUZZ_CHECK(again.config.has_value(), "a trailing comment breaks a valid configuration");
    SY_FUZZ_CHECK(fuzz::describe(*again.config) == description,
                  "a trailing comment changes the configuration");
  }
  return 0;
}
