#pragma once

// The verdict of one analysis window of a canary rollout: what the canary pool did over the
// window, compared with fixed limits and with the baseline (the route's active pool) over the
// SAME window. Pure functions of the figures, so they are unit tested on synthetic windows.
//
// How it decides (conf/REFERENCE.md, "Automated canary rollouts", says the same to users):
// - Fewer than `min_requests` on the canary side, or on the baseline side when a rule compares
//   with the baseline and the baseline is meant to get traffic: inconclusive, never a pass.
// - max_error_rate: the canary's observed error rate above the limit fails.
// - max_error_rate_vs_baseline (a factor k): fails only when the canary's rate is above k times
//   the baseline's AND an exact one-sided test rejects "canary rate <= k x baseline rate" at
//   `confidence` (default 0.95). The test is the conditional binomial test for two rates (as
//   for Poisson counts): given the e errors of both sides together, under that hypothesis the
//   canary's share of them is at most Binomial(e, k n_c / (k n_c + n_b)); the p-value is the
//   chance of the canary having as many as it had. Exact at low counts, where a z-test is not:
//   2 errors of 200 against 1 of 2,000 (k = 1.2) has p = 0.032, a failure at 0.95 but not at
//   0.99; 10 of 200 against 1 of 2,000 has p < 1e-9.
// - max_p99 / max_p99_vs_baseline: the p99 estimated from the latency histogram (linear within a
//   bucket, as Prometheus' histogram_quantile) above the limit, or above k times the baseline's.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/local_histogram.h"

namespace sy::proxy::control {

// Cumulative figures of one (route, pool) pair at one moment, summed over the workers.
struct PoolReading {
  std::array<uint64_t, 5> responses{};  // by status class, 1xx .. 5xx
  core::HistogramTotals duration;
};

// Which status classes count as errors: bit c-1 for class c (5xx by default).
using ErrorClasses = uint8_t;
constexpr ErrorClasses kErrorClass5xx = 1u << 4;
constexpr ErrorClasses kErrorClass4xx = 1u << 3;

// What one side did during one window: the difference of two readings.
struct WindowFigures {
  uint64_t requests = 0;
  uint64_t errors = 0;
  core::HistogramTotals duration;

  static WindowFigures between(const PoolReading& before, const PoolReading& after,
                               ErrorClasses errors);
  double errorRate() const {
    return requests == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(requests);
  }
};

// The q-quantile (0..1) of a histogram in seconds; nullopt when it is empty. Linear within the
// bucket that holds it; a quantile in the +Inf bucket is the highest finite bound.
std::optional<double> quantileSeconds(const core::HistogramTotals& histogram, double q);

// P(X >= x) for X ~ Binomial(n, p): the p-value of the relative error rule.
double binomialUpperTail(uint64_t n, uint64_t x, double p);
// The p-value of "the canary's error rate is at most `factor` times the baseline's".
double errorRatePValue(const WindowFigures& canary, const WindowFigures& baseline, double factor);

struct AnalysisRules {
  uint64_t min_requests = 100;
  std::optional<double> max_error_rate;              // 0..1
  std::optional<double> max_error_rate_vs_baseline;  // factor >= 1
  std::optional<double> max_p99_seconds;
  std::optional<double> max_p99_vs_baseline;  // factor >= 1
  double confidence = 0.95;                   // of the relative error test, 0.5..0.9999
  ErrorClasses error_classes = kErrorClass5xx;

  bool comparesWithBaseline() const {
    return max_error_rate_vs_baseline.has_value() || max_p99_vs_baseline.has_value();
  }
};

enum class Verdict { kPass, kFail, kInconclusive };
const char* verdictName(Verdict verdict);  // "pass", "fail", "inconclusive"

// One rule's outcome, with the figures it looked at (for GET /admin/rollouts and the log).
struct CheckResult {
  std::string rule;  // "max_error_rate", ...
  Verdict verdict = Verdict::kPass;
  double canary = 0;
  double baseline = 0;  // 0 when the rule does not look at the baseline
  double limit = 0;     // the value the canary was held to
  std::string detail;   // why, in words, for a failure or a skipped rule
};

struct WindowResult {
  Verdict verdict = Verdict::kInconclusive;
  std::vector<CheckResult> checks;
  std::string reason;  // the first failed rule's detail, or why inconclusive; empty on a pass
};

// `baseline_has_traffic` is false at a 100% step: the baseline gets no requests by design, so
// rules relative to it are skipped rather than made inconclusive forever.
WindowResult analyseWindow(const WindowFigures& canary, const WindowFigures& baseline,
                           const AnalysisRules& rules, bool baseline_has_traffic);

}  // namespace sy::proxy::control
