#include "admin/stats_sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "upstream/backend_stats.h"

namespace sy::admin {
namespace {

using Buckets = std::array<uint64_t, core::LocalHistogram::kBuckets>;

uint64_t minusOrZero(uint64_t now, uint64_t earlier) { return now >= earlier ? now - earlier : 0; }

// Rounded to 3 decimals: the page shows them, nobody needs the binary noise.
double rounded(double value) { return std::round(value * 1000) / 1000; }

nlohmann::json figuresJson(const StatsFigures& f, double seconds, bool pool) {
  nlohmann::json out = {
      {"requests", f.requests},
      {"rps", rounded(seconds > 0 ? static_cast<double>(f.requests) / seconds : 0)},
      {"errors", f.responses_5xx + f.upstream_failures},
  };
  // Error rate: failed answers and failed exchanges per answer (upstream failures that a retry
  // hid still count: they are what a bad canary looks like first).
  out["error_rate"] = f.requests > 0
                          ? nlohmann::json(rounded(std::min(
                                1.0, static_cast<double>(f.responses_5xx + f.upstream_failures) /
                                         static_cast<double>(f.requests))))
                          : nlohmann::json(nullptr);
  if (pool) out["upstream_failures"] = f.upstream_failures;
  const double p50 = histogramQuantileMs(f.duration, 0.5);
  const double p99 = histogramQuantileMs(f.duration, 0.99);
  out["p50_ms"] = p50 < 0 ? nlohmann::json(nullptr) : nlohmann::json(rounded(p50));
  out["p99_ms"] = p99 < 0 ? nlohmann::json(nullptr) : nlohmann::json(rounded(p99));
  return out;
}

}  // namespace

void StatsFigures::add(const StatsFigures& other) {
  requests += other.requests;
  responses_5xx += other.responses_5xx;
  upstream_failures += other.upstream_failures;
  for (size_t i = 0; i < duration.size(); ++i) duration[i] += other.duration[i];
}

StatsFigures StatsFigures::since(const StatsFigures& earlier) const {
  StatsFigures d;
  d.requests = minusOrZero(requests, earlier.requests);
  d.responses_5xx = minusOrZero(responses_5xx, earlier.responses_5xx);
  d.upstream_failures = minusOrZero(upstream_failures, earlier.upstream_failures);
  for (size_t i = 0; i < duration.size(); ++i) {
    d.duration[i] = minusOrZero(duration[i], earlier.duration[i]);
  }
  return d;
}

StatsReading readStats(const routing::ConfigSnapshot& snapshot) {
  StatsReading reading;
  for (const auto& pool : snapshot.pools) {
    StatsFigures& figures = reading.pools[pool->name];
    for (const auto& entry : pool->backends) {
      const upstream::BackendStats& s = *entry.info->stats;
      using B = upstream::BackendWorkerStats;
      figures.upstream_failures += s.sum(&B::connect_failures) + s.sum(&B::timeouts) +
                                   s.sum(&B::resets) + s.sum(&B::protocol_errors);
    }
  }
  for (const routing::Route& route : snapshot.routes.routes()) {
    StatsFigures& route_figures = reading.routes[route.name];
    for (size_t p = 0; p < snapshot.pools.size() && p < route.stats_by_pool.size(); ++p) {
      if (route.stats_by_pool[p] == nullptr) continue;
      StatsFigures pair;
      for (const routing::RoutePoolWorkerStats& slot : route.stats_by_pool[p]->slots()) {
        for (size_t c = 0; c < 5; ++c) pair.requests += slot.responses[c].get();
        pair.responses_5xx += slot.responses[4].get();
        for (size_t b = 0; b < pair.duration.size(); ++b) {
          pair.duration[b] += slot.duration.bucketCount(b);
        }
      }
      route_figures.add(pair);
      reading.pools[snapshot.pools[p]->name].add(pair);
    }
  }
  return reading;
}

double histogramQuantileMs(const Buckets& buckets, double q) {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return -1;
  const double rank = q * static_cast<double>(total);
  const auto& bounds = core::LocalHistogram::kBoundsSeconds;
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(below + buckets[i]) >= rank) {
      const double lower = i == 0 ? 0 : bounds[i - 1];
      if (i >= bounds.size()) return lower * 1000;  // +Inf: only a lower bound is known
      const double share = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return (lower + (bounds[i] - lower) * std::clamp(share, 0.0, 1.0)) * 1000;
    }
    below += buckets[i];
  }
  return bounds.back() * 1000;
}

void StatsSampler::add(double unix_seconds, StatsReading reading) {
  if (has_last_) {
    Sample sample;
    sample.unix_seconds = unix_seconds;
    for (const auto& [name, figures] : reading.routes) {
      auto it = last_.routes.find(name);
      sample.delta.routes[name] =
          it == last_.routes.end() ? StatsFigures{} : figures.since(it->second);
    }
    for (const auto& [name, figures] : reading.pools) {
      auto it = last_.pools.find(name);
      sample.delta.pools[name] =
          it == last_.pools.end() ? StatsFigures{} : figures.since(it->second);
    }
    ring_.push_back(std::move(sample));
    if (ring_.size() > kRingSeconds) ring_.pop_front();
  }
  last_ = std::move(reading);
  last_seconds_ = unix_seconds;
  has_last_ = true;
}

nlohmann::json StatsSampler::entityJson(bool pools, const std::string& name) const {
  nlohmann::json windows = nlohmann::json::object();
  for (int window : kWindows) {
    StatsFigures sum;
    double covered = 0;
    for (auto it = ring_.rbegin(); it != ring_.rend(); ++it) {
      if (last_seconds_ - it->unix_seconds >= window) break;
      const auto& map = pools ? it->delta.pools : it->delta.routes;
      if (auto found = map.find(name); found != map.end()) sum.add(found->second);
      covered += 1;
    }
    // A young process has less than the window: the rate is over what it has.
    windows[absl::StrCat(window, "s")] = figuresJson(sum, covered, pools);
  }
  nlohmann::json rps = nlohmann::json::array();
  nlohmann::json error_rate = nlohmann::json::array();
  nlohmann::json p50 = nlohmann::json::array();
  nlohmann::json p99 = nlohmann::json::array();
  double previous = 0;
  for (const Sample& sample : ring_) {
    const auto& map = pools ? sample.delta.pools : sample.delta.routes;
    auto found = map.find(name);
    const StatsFigures figures = found == map.end() ? StatsFigures{} : found->second;
    // A late timer makes a longer second: the rate is per real second.
    const double seconds = previous > 0 ? std::max(0.001, sample.unix_seconds - previous) : 1.0;
    previous = sample.unix_seconds;
    nlohmann::json f = figuresJson(figures, seconds, pools);
    rps.push_back(f["rps"]);
    error_rate.push_back(f["error_rate"]);
    p50.push_back(f["p50_ms"]);
    p99.push_back(f["p99_ms"]);
  }
  return {{"windows", std::move(windows)},
          {"series",
           {{"rps", std::move(rps)},
            {"error_rate", std::move(error_rate)},
            {"p50_ms", std::move(p50)},
            {"p99_ms", std::move(p99)}}}};
}

nlohmann::json StatsSampler::toJson() const {
  nlohmann::json times = nlohmann::json::array();
  for (const Sample& sample : ring_) times.push_back(rounded(sample.unix_seconds));
  nlohmann::json windows = nlohmann::json::array();
  for (int window : kWindows) windows.push_back(window);
  nlohmann::json out = {{"interval_seconds", 1},
                        {"windows", std::move(windows)},
                        {"times", std::move(times)},
                        {"routes", nlohmann::json::object()},
                        {"pools", nlohmann::json::object()}};
  for (const auto& [name, figures] : last_.routes) out["routes"][name] = entityJson(false, name);
  for (const auto& [name, figures] : last_.pools) out["pools"][name] = entityJson(true, name);
  return out;
}

}  // namespace sy::admin
