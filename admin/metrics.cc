#include "admin/metrics.h"

#include <sstream>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admin/metric_families.h"
#include "admin/process_metrics.h"
#include "admin/tls_metrics.h"
#include "core/build_info.h"
#include "core/stat_info.h"
#include "prometheus/text_serializer.h"
#include "upstream/backend_stats.h"

namespace sy::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric::Label label(std::string name, std::string value) {
  return ClientMetric::Label{std::move(name), std::move(value)};
}

void addHistogram(MetricFamily& f, std::vector<ClientMetric::Label> labels,
                  const core::HistogramTotals& totals) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < core::LocalHistogram::kBuckets; ++i) {
    cumulative += totals.buckets[i];
    ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i < core::LocalHistogram::kBoundsSeconds.size()
                             ? core::LocalHistogram::kBoundsSeconds[i]
                             : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(bucket);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(totals.sum_nanos) * 1e-9;
  f.metric.push_back(std::move(m));
}

constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

// The families of a stats list (core/stat_info.h), in its order: consecutive rows that share a
// metric are one family.
template <typename Stats, size_t N>
std::vector<MetricFamily> familiesOf(const core::StatInfo<Stats> (&list)[N]) {
  std::vector<MetricFamily> families;
  for (const core::StatInfo<Stats>& stat : list) {
    if (families.empty() || families.back().name != stat.metric) {
      families.push_back(
          makeFamily(stat.metric, stat.help, stat.gauge ? MetricType::Gauge : MetricType::Counter));
    }
  }
  return families;
}

// One series per row of `list` into `families` (from familiesOf), each with `labels` plus the
// row's own; `total(field)` sums the field over the workers.
template <typename Stats, size_t N, typename Total>
void addStatSeries(const core::StatInfo<Stats> (&list)[N], std::vector<MetricFamily>& families,
                   const std::vector<ClientMetric::Label>& labels, const Total& total) {
  size_t f = 0;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0 && families[f].name != list[i].metric) ++f;
    std::vector<ClientMetric::Label> series = labels;
    if (list[i].label.name != nullptr)
      series.push_back(label(list[i].label.name, list[i].label.value));
    addSample(families[f], std::move(series), static_cast<double>(total(list[i].field)));
  }
}

}  // namespace

std::vector<MetricFamily> DataPlaneCollector::Collect() const {
  std::vector<MetricFamily> out;
  const routing::ConfigSnapshot& snapshot = *view_.snapshot;

  // Client side, summed over the workers: every field of core::WorkerStats.
  {
    std::vector<MetricFamily> families = familiesOf(core::kWorkerStatInfo);
    addStatSeries(core::kWorkerStatInfo, families, {},
                  [&](core::LocalCounter core::WorkerStats::*field) {
                    uint64_t total = 0;
                    for (const core::WorkerStats* w : view_.workers) total += (w->*field).get();
                    return total;
                  });
    for (MetricFamily& f : families) out.push_back(std::move(f));
  }
  // The HTTP/2 defences: one series per defence, from the workers' arrays.
  {
    MetricFamily defences =
        makeFamily(core::kHttp2DefencesMetric, core::kHttp2DefencesHelp, MetricType::Counter);
    for (size_t d = 0; d < core::kHttp2DefenceLabels.size(); ++d) {
      uint64_t total = 0;
      for (const core::WorkerStats* w : view_.workers) total += w->http2_defences[d].get();
      addSample(defences, {label("defence", core::kHttp2DefenceLabels[d])},
                static_cast<double>(total));
    }
    out.push_back(std::move(defences));
  }
  {
    MetricFamily post_failures =
        makeFamily("switchyard_worker_post_failures_total",
                   "Changes (snapshots, tasks) the control thread could not post to a worker, one "
                   "per worker and change: the worker's loop had stopped (during shutdown too).",
                   MetricType::Counter);
    addSample(post_failures, {}, static_cast<double>(view_.worker_post_failures));
    out.push_back(std::move(post_failures));
  }

  // Client limits, per listener (routing/client_limit_settings.h).
  {
    MetricFamily limited = makeFamily(
        "switchyard_limited_total",
        "Connections and requests refused by a client limit: conn_limit (the listener's "
        "max_connections; closed at accept), ip_conn_limit (max_connections_per_ip; closed at "
        "accept), rate_limit (answered 429).",
        MetricType::Counter);
    MetricFamily entries =
        makeFamily("switchyard_client_table_entries",
                   "Client addresses held in the limit tables, all workers together: rate (token "
                   "buckets, at most client_table_size) and connections (addresses with open "
                   "connections counted for max_connections_per_ip).",
                   MetricType::Gauge);
    MetricFamily proxy_rejected = makeFamily(
        "switchyard_proxy_protocol_rejected_total",
        "Connections to a proxy_protocol listener closed without a reply before their PROXY "
        "header was accepted: untrusted (the peer is not in trusted_proxies), missing (no "
        "header), malformed, timeout (incomplete at header_timeout), closed (the peer closed "
        "mid-header).",
        MetricType::Counter);
    MetricFamily open =
        makeFamily("switchyard_listener_connections_open",
                   "Client connections open now, per listener (what max_connections "
                   "compares with).",
                   MetricType::Gauge);
    for (const routing::ListenerSettings& listener : snapshot.listeners) {
      if (listener.limit_state == nullptr) continue;
      uint64_t by_reason[routing::kLimitReasons] = {};
      uint64_t proxy_by_reason[routing::kProxyRejectReasons] = {};
      uint64_t rate_entries = 0, connection_entries = 0;
      for (const routing::ListenerLimitWorkerStats& slot : listener.limit_state->slots()) {
        for (size_t r = 0; r < routing::kLimitReasons; ++r) by_reason[r] += slot.limited[r].get();
        for (size_t r = 0; r < routing::kProxyRejectReasons; ++r) {
          proxy_by_reason[r] += slot.proxy_rejected[r].get();
        }
        rate_entries += slot.rate_table_entries.get();
        connection_entries += slot.connection_table_entries.get();
      }
      for (size_t r = 0; r < routing::kLimitReasons; ++r) {
        addSample(limited,
                  {label("listener", listener.name),
                   label("reason", routing::limitReasonName(static_cast<routing::LimitReason>(r)))},
                  static_cast<double>(by_reason[r]));
      }
      // Only where the header is expected: elsewhere the series would always be 0.
      for (size_t r = 0; listener.proxy_protocol && r < routing::kProxyRejectReasons; ++r) {
        addSample(proxy_rejected,
                  {label("listener", listener.name),
                   label("reason", routing::proxyRejectReasonName(
                                       static_cast<routing::ProxyRejectReason>(r)))},
                  static_cast<double>(proxy_by_reason[r]));
      }
      addSample(entries, {label("listener", listener.name), label("table", "rate")},
                static_cast<double>(rate_entries));
      addSample(entries, {label("listener", listener.name), label("table", "connections")},
                static_cast<double>(connection_entries));
      addSample(open, {label("listener", listener.name)},
                listener.limit_state->open_connections.load(std::memory_order_relaxed));
    }
    out.push_back(std::move(limited));
    out.push_back(std::move(entries));
    out.push_back(std::move(open));
    out.push_back(std::move(proxy_rejected));
  }

  // Per route and pool.
  MetricFamily requests = makeFamily("switchyard_requests_total",
                                     "Requests answered, by route, serving pool and status class.",
                                     MetricType::Counter);
  MetricFamily duration =
      makeFamily("switchyard_request_duration_seconds",
                 "Time from the request head to the end of the response.", MetricType::Histogram);
  for (const routing::Route& route : snapshot.routes.routes()) {
    for (size_t p = 0; p < snapshot.pools.size(); ++p) {
      const routing::RoutePoolStats& stats = *route.stats_by_pool[p];
      uint64_t by_class[5] = {0, 0, 0, 0, 0};
      core::HistogramTotals totals;
      for (const routing::RoutePoolWorkerStats& slot : stats.slots()) {
        for (size_t c = 0; c < 5; ++c) by_class[c] += slot.responses[c].get();
        totals.add(slot.duration);
      }
      if (totals.count() == 0) continue;  // this route never sent anything to this pool
      const std::string& pool = snapshot.pools[p]->name;
      for (size_t c = 0; c < 5; ++c) {
        if (by_class[c] == 0) continue;
        addSample(requests,
                  {label("route", route.name), label("pool", pool), label("class", kClasses[c])},
                  static_cast<double>(by_class[c]));
      }
      addHistogram(duration, {label("route", route.name), label("pool", pool)}, totals);
    }
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(duration));

  // Per pool timings.
  MetricFamily connect =
      makeFamily("switchyard_upstream_connect_duration_seconds",
                 "Time to open a new connection to a backend.", MetricType::Histogram);
  MetricFamily header = makeFamily("switchyard_upstream_response_header_duration_seconds",
                                   "Time from the request head to the backend's response head.",
                                   MetricType::Histogram);
  for (const auto& pool : snapshot.pools) {
    core::HistogramTotals connect_totals;
    core::HistogramTotals header_totals;
    for (const upstream::PoolWorkerStats& slot : pool->stats->slots()) {
      connect_totals.add(slot.connect_duration);
      header_totals.add(slot.response_header_duration);
    }
    addHistogram(connect, {label("pool", pool->name)}, connect_totals);
    addHistogram(header, {label("pool", pool->name)}, header_totals);
  }
  out.push_back(std::move(connect));
  out.push_back(std::move(header));

  // Per backend: every field of upstream::BackendWorkerStats, then the health and admin states.
  std::vector<MetricFamily> backend_families = familiesOf(upstream::kBackendStatInfo);
  MetricFamily health = makeFamily(
      "switchyard_backend_health",
      "1 for the backend's current health state (unchecked: its pool has no health check).",
      MetricType::Gauge);
  MetricFamily admin_state =
      makeFamily("switchyard_backend_admin_state", "1 for the backend's current admin state.",
                 MetricType::Gauge);
  for (const auto& pool : snapshot.pools) {
    for (const auto& entry : pool->backends) {
      const upstream::BackendStats& s = *entry.info->stats;
      const std::vector<ClientMetric::Label> labels = {label("pool", pool->name),
                                                       label("backend", entry.info->address_text)};
      auto with = [&](std::string name, std::string value) {
        auto l = labels;
        l.push_back(label(std::move(name), std::move(value)));
        return l;
      };
      addStatSeries(
          upstream::kBackendStatInfo, backend_families, labels,
          [&](core::LocalCounter upstream::BackendWorkerStats::*field) { return s.sum(field); });
      BackendState state;
      if (auto it = view_.backend_states.find(entry.info->id); it != view_.backend_states.end()) {
        state = it->second;
      }
      for (const char* h : {"healthy", "unhealthy", "unknown", "unchecked"}) {
        addSample(health, with("state", h), state.health == h ? 1 : 0);
      }
      for (const char* a : {"ready", "draining", "drained", "disabled"}) {
        addSample(admin_state, with("state", a), state.admin == a ? 1 : 0);
      }
    }
  }
  for (MetricFamily& f : backend_families) out.push_back(std::move(f));
  out.push_back(std::move(health));
  out.push_back(std::move(admin_state));

  // Per pool: how many backends take new requests, and why the others do not. The set changes
  // at run time (admin API), so dashboards need the count, not just the per-backend series.
  MetricFamily backends =
      makeFamily("switchyard_backends",
                 "Backends of the pool by state: eligible (take new requests), "
                 "out_by_operator (draining, disabled), out_by_health (unhealthy, "
                 "not yet checked, ejected).",
                 MetricType::Gauge);
  for (const auto& pool : snapshot.pools) {
    double eligible = 0, by_operator = 0, by_health = 0;
    for (const auto& entry : pool->backends) {
      if (entry.draining) {
        ++by_operator;
      } else if (entry.eligible) {
        ++eligible;
      } else {
        ++by_health;
      }
    }
    addSample(backends, {label("pool", pool->name), label("state", "eligible")}, eligible);
    addSample(backends, {label("pool", pool->name), label("state", "out_by_operator")},
              by_operator);
    addSample(backends, {label("pool", pool->name), label("state", "out_by_health")}, by_health);
  }
  out.push_back(std::move(backends));

  // Mirroring.
  MetricFamily mirror_requests = makeFamily(
      "switchyard_mirror_requests_total",
      "Copies of requests for a mirror pool, by result: sent (started), dropped (cap, slow "
      "shadow, body too large), failed (connect, timeout, reset, invalid response).",
      MetricType::Counter);
  MetricFamily mirror_responses =
      makeFamily("switchyard_mirror_responses_total",
                 "Answers of the mirror pool (thrown away), by status class.", MetricType::Counter);
  MetricFamily mirror_duration =
      makeFamily("switchyard_mirror_duration_seconds",
                 "Time from the start of a copy to the end of its answer.", MetricType::Histogram);
  for (const routing::Route& route : snapshot.routes.routes()) {
    for (size_t p = 0; p < route.mirror_stats_by_pool.size(); ++p) {
      if (route.mirror_stats_by_pool[p] == nullptr) continue;
      uint64_t sent = 0, dropped = 0, failed = 0;
      uint64_t by_class[5] = {0, 0, 0, 0, 0};
      core::HistogramTotals totals;
      for (const routing::MirrorWorkerStats& slot : route.mirror_stats_by_pool[p]->slots()) {
        sent += slot.sent.get();
        dropped += slot.dropped.get();
        failed += slot.failed.get();
        for (size_t c = 0; c < 5; ++c) by_class[c] += slot.responses[c].get();
        totals.add(slot.duration);
      }
      const std::string& pool = snapshot.pools[p]->name;
      auto labels = [&](std::vector<ClientMetric::Label> extra) {
        std::vector<ClientMetric::Label> l = {label("route", route.name), label("pool", pool)};
        l.insert(l.end(), extra.begin(), extra.end());
        return l;
      };
      addSample(mirror_requests, labels({label("result", "sent")}), static_cast<double>(sent));
      addSample(mirror_requests, labels({label("result", "dropped")}),
                static_cast<double>(dropped));
      addSample(mirror_requests, labels({label("result", "failed")}), static_cast<double>(failed));
      for (size_t c = 0; c < 5; ++c) {
        addSample(mirror_responses, labels({label("class", kClasses[c])}),
                  static_cast<double>(by_class[c]));
      }
      addHistogram(mirror_duration, labels({}), totals);
    }
  }
  out.push_back(std::move(mirror_requests));
  out.push_back(std::move(mirror_responses));
  out.push_back(std::move(mirror_duration));

  // Switching state.
  MetricFamily active = makeFamily("switchyard_route_active_pool",
                                   "1 for the pool that is active on a route.", MetricType::Gauge);
  MetricFamily canary =
      makeFamily("switchyard_route_canary_weight_percent",
                 "Share of a route's traffic sent to its canary pool.", MetricType::Gauge);
  for (const auto& [route, traffic] : view_.traffic->routes()) {
    addSample(active, {label("route", route), label("pool", traffic.active)}, 1);
    addSample(canary,
              {label("route", route),
               label("pool", traffic.canary_pool.empty() ? "" : traffic.canary_pool)},
              traffic.canary_weight);
  }
  out.push_back(std::move(active));
  out.push_back(std::move(canary));
  MetricFamily generation =
      makeFamily("switchyard_config_generation", "Generation of the snapshot the workers run.",
                 MetricType::Gauge);
  addSample(generation, {}, static_cast<double>(snapshot.generation));
  out.push_back(std::move(generation));
  collectTlsMetrics(snapshot, &out);
  return out;
}

ControlMetrics::ControlMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      switches_(prometheus::BuildCounter()
                    .Name("switchyard_switches_total")
                    .Help("Admin switches of a route's active pool.")
                    .Register(*registry_)),
      rollbacks_(prometheus::BuildCounter()
                     .Name("switchyard_rollbacks_total")
                     .Help("Admin rollbacks of a route to its previous pool.")
                     .Register(*registry_)),
      promotions_(prometheus::BuildCounter()
                      .Name("switchyard_promotions_total")
                      .Help("Canary pools promoted to active.")
                      .Register(*registry_)),
      canary_changes_(prometheus::BuildCounter()
                          .Name("switchyard_canary_changes_total")
                          .Help("Changes of a route's canary pool or weight.")
                          .Register(*registry_)),
      reloads_(prometheus::BuildCounter()
                   .Name("switchyard_config_reloads_total")
                   .Help("Configuration reloads, by result.")
                   .Register(*registry_)),
      mirror_changes_(prometheus::BuildCounter()
                          .Name("switchyard_mirror_changes_total")
                          .Help("Changes of a route's mirror pool or percentage.")
                          .Register(*registry_)),
      health_checks_(prometheus::BuildCounter()
                         .Name("switchyard_health_checks_total")
                         .Help("Active health check results, by backend and result.")
                         .Register(*registry_)),
      health_check_duration_(prometheus::BuildHistogram()
                                 .Name("switchyard_health_check_duration_seconds")
                                 .Help("Duration of active health checks.")
                                 .Register(*registry_)),
      ejections_(prometheus::BuildCounter()
                     .Name("switchyard_passive_ejections_total")
                     .Help("Backends ejected by passive outlier detection.")
                     .Register(*registry_)),
      rollouts_started_(prometheus::BuildCounter()
                            .Name("switchyard_rollouts_started_total")
                            .Help("Canary rollouts started (admin API or restored).")
                            .Register(*registry_)),
      rollout_analyses_(prometheus::BuildCounter()
                            .Name("switchyard_rollout_analysis_total")
                            .Help("Rollout analysis windows, by verdict: pass, fail, "
                                  "inconclusive, paused.")
                            .Register(*registry_)),
      rollout_rollbacks_(prometheus::BuildCounter()
                             .Name("switchyard_rollout_rollbacks_total")
                             .Help("Rollouts rolled back, by reason: analysis (automatic) or "
                                   "aborted (an operator).")
                             .Register(*registry_)),
      rollout_state_(prometheus::BuildGauge()
                         .Name("switchyard_rollout_state")
                         .Help("State of the route's last rollout: 1 progressing, 2 paused, "
                               "3 succeeded, 4 rolled_back, 5 aborted.")
                         .Register(*registry_)),
      rollout_step_(prometheus::BuildGauge()
                        .Name("switchyard_rollout_step")
                        .Help("Step of the route's last rollout, from 0.")
                        .Register(*registry_)),
      rollout_weight_(prometheus::BuildGauge()
                          .Name("switchyard_rollout_weight")
                          .Help("Canary weight (percent) the route's last rollout set.")
                          .Register(*registry_)),
      rollout_webhooks_(prometheus::BuildCounter()
                            .Name("switchyard_rollout_webhook_total")
                            .Help("Rollout webhook calls, by hook (gate, notify) and result: ok, "
                                  "rejected (a non-2xx answer), error (timeout, connection "
                                  "failure, after the retries).")
                            .Register(*registry_)),
      start_time_seconds_(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch())) {
  auto& build_info = prometheus::BuildGauge()
                         .Name("switchyard_build_info")
                         .Help("Version and commit of the running binary (always 1).")
                         .Register(*registry_);
  build_info.Add({{"version", core::versionString()}, {"commit", core::gitCommit()}}).Set(1);
  auto& start_time = prometheus::BuildGauge()
                         .Name("switchyard_process_start_time_seconds")
                         .Help("Start time of the process, in seconds since the Unix epoch.")
                         .Register(*registry_);
  start_time.Add({}).Set(start_time_seconds_);
  // Both results exist from the start, so that rate() works before the first failure.
  reloads_.Add({{"result", "success"}});
  reloads_.Add({{"result", "failure"}});
}

void ControlMetrics::declareRoutes(const std::vector<std::string>& routes) {
  for (const std::string& route : routes) {
    for (auto* family :
         {&switches_, &rollbacks_, &promotions_, &canary_changes_, &mirror_changes_}) {
      family->Add({{"route", route}});
    }
  }
}

void ControlMetrics::healthChecked(const std::string& pool, const std::string& backend, bool passed,
                                   double seconds) {
  health_checks_
      .Add({{"pool", pool}, {"backend", backend}, {"result", passed ? "passed" : "failed"}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBounds(
      core::LocalHistogram::kBoundsSeconds.begin(), core::LocalHistogram::kBoundsSeconds.end());
  health_check_duration_.Add({{"pool", pool}}, kBounds).Observe(seconds);
}

std::string ControlMetrics::render(const DataPlaneView& view,
                                   std::vector<MetricFamily> extra) const {
  std::vector<MetricFamily> families = registry_->Collect();
  std::vector<MetricFamily> data = DataPlaneCollector(view).Collect();
  families.insert(families.end(), std::make_move_iterator(data.begin()),
                  std::make_move_iterator(data.end()));
  collectProcessMetrics(&families);
  families.insert(families.end(), std::make_move_iterator(extra.begin()),
                  std::make_move_iterator(extra.end()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace sy::admin
