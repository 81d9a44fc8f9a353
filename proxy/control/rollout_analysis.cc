#include "proxy/control/rollout_analysis.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace sy::proxy::control {

WindowFigures WindowFigures::between(const PoolReading& before, const PoolReading& after,
                                     ErrorClasses errors) {
  WindowFigures figures;
  for (size_t c = 0; c < after.responses.size(); ++c) {
    // Counters only grow; a smaller reading (a pool re-created by a reload) counts from zero.
    const uint64_t delta = after.responses[c] >= before.responses[c]
                               ? after.responses[c] - before.responses[c]
                               : after.responses[c];
    figures.requests += delta;
    if ((errors >> c) & 1u) figures.errors += delta;
  }
  for (size_t b = 0; b < core::LocalHistogram::kBuckets; ++b) {
    const uint64_t now = after.duration.buckets[b];
    const uint64_t then = before.duration.buckets[b];
    figures.duration.buckets[b] = now >= then ? now - then : now;
  }
  figures.duration.sum_nanos = after.duration.sum_nanos >= before.duration.sum_nanos
                                   ? after.duration.sum_nanos - before.duration.sum_nanos
                                   : after.duration.sum_nanos;
  return figures;
}

std::optional<double> quantileSeconds(const core::HistogramTotals& histogram, double q) {
  const uint64_t total = histogram.count();
  if (total == 0) return std::nullopt;
  const auto& bounds = core::LocalHistogram::kBoundsSeconds;
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t b = 0; b < core::LocalHistogram::kBuckets; ++b) {
    const uint64_t in_bucket = histogram.buckets[b];
    if (in_bucket > 0 && static_cast<double>(below + in_bucket) >= rank) {
      if (b == bounds.size()) return bounds.back();  // +Inf: the highest finite bound
      const double lower = b == 0 ? 0.0 : bounds[b - 1];
      const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
      return lower + (bounds[b] - lower) * fraction;
    }
    below += in_bucket;
  }
  return bounds.back();
}

double binomialUpperTail(uint64_t n, uint64_t x, double p) {
  if (x == 0) return 1.0;
  if (x > n || p <= 0.0) return 0.0;
  if (p >= 1.0) return 1.0;
  // Terms in logs (lgamma), summed from x up: n is a window's error count, so this is cheap.
  const double log_p = std::log(p);
  const double log_q = std::log1p(-p);
  const double log_n_factorial = std::lgamma(static_cast<double>(n) + 1);
  double tail = 0.0;
  for (uint64_t k = x; k <= n; ++k) {
    const double kd = static_cast<double>(k);
    const double rest = static_cast<double>(n - k);
    tail += std::exp(log_n_factorial - std::lgamma(kd + 1) - std::lgamma(rest + 1) + kd * log_p +
                     rest * log_q);
  }
  return std::min(tail, 1.0);
}

double errorRatePValue(const WindowFigures& canary, const WindowFigures& baseline, double factor) {
  const double weighted_canary = factor * static_cast<double>(canary.requests);
  const double share = weighted_canary / (weighted_canary + static_cast<double>(baseline.requests));
  return binomialUpperTail(canary.errors + baseline.errors, canary.errors, share);
}

const char* verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

namespace {

CheckResult makeCheck(const std::string& rule, double canary, double baseline, double limit) {
  CheckResult result;
  result.rule = rule;
  result.canary = canary;
  result.baseline = baseline;
  result.limit = limit;
  return result;
}

CheckResult skipped(const std::string& rule, const std::string& why) {
  CheckResult check;
  check.rule = rule;
  check.verdict = Verdict::kPass;
  check.detail = why;
  return check;
}

std::string formatSeconds(double seconds) { return absl::StrFormat("%.1f ms", seconds * 1000); }

}  // namespace

WindowResult analyseWindow(const WindowFigures& canary, const WindowFigures& baseline,
                           const AnalysisRules& rules, bool baseline_has_traffic) {
  WindowResult result;
  if (canary.requests < rules.min_requests) {
    result.reason = absl::StrFormat("canary served %d requests, fewer than min_requests %d",
                                    canary.requests, rules.min_requests);
    return result;
  }
  const bool compare = rules.comparesWithBaseline() && baseline_has_traffic;
  if (compare && baseline.requests < rules.min_requests) {
    result.reason = absl::StrFormat("baseline served %d requests, fewer than min_requests %d",
                                    baseline.requests, rules.min_requests);
    return result;
  }
  const std::string no_baseline = "skipped: the baseline gets no traffic at this step";

  if (rules.max_error_rate) {
    CheckResult check = makeCheck("max_error_rate", canary.errorRate(), 0, *rules.max_error_rate);
    if (check.canary > check.limit) {
      check.verdict = Verdict::kFail;
      check.detail = absl::StrFormat("canary error rate %.4f (%d of %d) above %.4f", check.canary,
                                     canary.errors, canary.requests, check.limit);
    }
    result.checks.push_back(check);
  }
  if (rules.max_error_rate_vs_baseline) {
    if (!compare) {
      result.checks.push_back(skipped("max_error_rate_vs_baseline", no_baseline));
    } else {
      CheckResult check =
          makeCheck("max_error_rate_vs_baseline", canary.errorRate(), baseline.errorRate(),
                    baseline.errorRate() * *rules.max_error_rate_vs_baseline);
      const double p_value = errorRatePValue(canary, baseline, *rules.max_error_rate_vs_baseline);
      const bool significant = p_value < 1 - rules.confidence;
      if (check.canary > check.limit && significant) {
        check.verdict = Verdict::kFail;
        check.detail = absl::StrFormat(
            "canary error rate %.4f (%d of %d) above %.2f x baseline %.4f (%d of %d), p = %.2g "
            "at %g confidence",
            check.canary, canary.errors, canary.requests, *rules.max_error_rate_vs_baseline,
            check.baseline, baseline.errors, baseline.requests, p_value, rules.confidence);
      } else if (check.canary > check.limit) {
        check.detail = absl::StrFormat("above the limit but not significant (p = %.2g)", p_value);
      }
      result.checks.push_back(check);
    }
  }
  const std::optional<double> canary_p99 = quantileSeconds(canary.duration, 0.99);
  if (rules.max_p99_seconds && canary_p99) {
    CheckResult check = makeCheck("max_p99", *canary_p99, 0, *rules.max_p99_seconds);
    if (check.canary > check.limit) {
      check.verdict = Verdict::kFail;
      check.detail = absl::StrFormat("canary p99 %s above %s", formatSeconds(check.canary),
                                     formatSeconds(check.limit));
    }
    result.checks.push_back(check);
  }
  if (rules.max_p99_vs_baseline) {
    const std::optional<double> baseline_p99 = quantileSeconds(baseline.duration, 0.99);
    if (!compare || !baseline_p99 || !canary_p99) {
      result.checks.push_back(skipped("max_p99_vs_baseline", no_baseline));
    } else {
      CheckResult check = makeCheck("max_p99_vs_baseline", *canary_p99, *baseline_p99,
                                    *baseline_p99 * *rules.max_p99_vs_baseline);
      if (check.canary > check.limit) {
        check.verdict = Verdict::kFail;
        check.detail = absl::StrFormat("canary p99 %s above %.2f x baseline p99 %s",
                                       formatSeconds(check.canary), *rules.max_p99_vs_baseline,
                                       formatSeconds(check.baseline));
      }
      result.checks.push_back(check);
    }
  }
  result.verdict = Verdict::kPass;
  for (const CheckResult& check : result.checks) {
    if (check.verdict == Verdict::kFail) {
      result.verdict = Verdict::kFail;
      result.reason = check.detail;
      break;
    }
  }
  return result;
}

}  // namespace sy::proxy::control
