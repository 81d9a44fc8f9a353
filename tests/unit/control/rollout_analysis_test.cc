// The analyser of rollout windows on synthetic figures: thresholds, inconclusive windows, the
// relative rules, and the two-proportion test at its edges.

#include "proxy/control/rollout_analysis.h"

#include <cmath>

#include "gtest/gtest.h"

namespace sy::proxy::control {
namespace {

// `requests` answers, `errors` of them 5xx, every one taking `seconds`.
WindowFigures figures(uint64_t requests, uint64_t errors, double seconds = 0.002) {
  PoolReading after;
  after.responses[1] = requests - errors;
  after.responses[4] = errors;
  size_t bucket = 0;
  const auto& bounds = core::LocalHistogram::kBoundsSeconds;
  while (bucket < bounds.size() && seconds > bounds[bucket]) ++bucket;
  after.duration.buckets[bucket] = requests;
  return WindowFigures::between(PoolReading{}, after, kErrorClass5xx);
}

AnalysisRules errorRules() {
  AnalysisRules rules;
  rules.min_requests = 100;
  rules.max_error_rate = 0.01;
  return rules;
}

TEST(RolloutAnalysisTest, WindowsAreTheDifferenceOfTwoReadings) {
  PoolReading before;
  before.responses = {0, 500, 0, 10, 3};
  before.duration.buckets[2] = 513;
  PoolReading after = before;
  after.responses[1] += 200;
  after.responses[3] += 5;
  after.responses[4] += 7;
  after.duration.buckets[2] += 212;
  const WindowFigures only5xx = WindowFigures::between(before, after, kErrorClass5xx);
  EXPECT_EQ(only5xx.requests, 212u);
  EXPECT_EQ(only5xx.errors, 7u);
  EXPECT_EQ(only5xx.duration.count(), 212u);
  const WindowFigures with4xx =
      WindowFigures::between(before, after, kErrorClass5xx | kErrorClass4xx);
  EXPECT_EQ(with4xx.errors, 12u);
  // A reading smaller than the one before (the pair was re-created) counts from zero.
  const WindowFigures restarted = WindowFigures::between(after, before, kErrorClass5xx);
  EXPECT_EQ(restarted.requests, 513u);
}

TEST(RolloutAnalysisTest, QuantilesInterpolateWithinTheBucket) {
  core::HistogramTotals histogram;
  EXPECT_FALSE(quantileSeconds(histogram, 0.99).has_value());
  histogram.buckets[7] = 100;  // (0.05, 0.1]
  EXPECT_NEAR(*quantileSeconds(histogram, 0.5), 0.075, 1e-9);
  EXPECT_NEAR(*quantileSeconds(histogram, 0.99), 0.0995, 1e-9);
  histogram.buckets[core::LocalHistogram::kBuckets - 1] = 100;  // +Inf
  EXPECT_EQ(*quantileSeconds(histogram, 0.99), 60.0) << "the highest finite bound";
}

TEST(RolloutAnalysisTest, BinomialTailsAreExact) {
  EXPECT_DOUBLE_EQ(binomialUpperTail(10, 0, 0.3), 1.0);
  EXPECT_DOUBLE_EQ(binomialUpperTail(3, 4, 0.3), 0.0);
  EXPECT_NEAR(binomialUpperTail(3, 3, 0.5), 0.125, 1e-12);
  EXPECT_NEAR(binomialUpperTail(3, 2, 0.5), 0.5, 1e-12);
  // 2 errors of 200 against 1 of 2,000, factor 1.2: share 240/2240 of the 3 errors.
  const double share = 240.0 / 2240.0;
  const double expected = 1 - std::pow(1 - share, 3) - 3 * share * std::pow(1 - share, 2);
  EXPECT_NEAR(binomialUpperTail(3, 2, share), expected, 1e-12);
  EXPECT_NEAR(expected, 0.032, 0.001);
  // Large counts stay finite and in [0, 1].
  const double big = binomialUpperTail(200000, 100500, 0.5);
  EXPECT_GT(big, 0.0);
  EXPECT_LT(big, 0.5);
}

TEST(RolloutAnalysisTest, TooFewRequestsOnEitherSideIsInconclusive) {
  AnalysisRules rules = errorRules();
  WindowResult result = analyseWindow(figures(99, 50), figures(1000, 0), rules, true);
  EXPECT_EQ(result.verdict, Verdict::kInconclusive) << "even with 50% errors";
  EXPECT_NE(result.reason.find("fewer than min_requests 100"), std::string::npos);

  rules.max_error_rate_vs_baseline = 1.2;
  result = analyseWindow(figures(1000, 0), figures(99, 0), rules, true);
  EXPECT_EQ(result.verdict, Verdict::kInconclusive) << "a relative rule needs the baseline";
  // At 100% the baseline gets nothing by design: the relative rule is skipped instead.
  result = analyseWindow(figures(1000, 0), figures(0, 0), rules, false);
  EXPECT_EQ(result.verdict, Verdict::kPass);
  ASSERT_EQ(result.checks.size(), 2u);
  EXPECT_NE(result.checks[1].detail.find("skipped"), std::string::npos);
}

TEST(RolloutAnalysisTest, TheAbsoluteErrorRateIsAThreshold) {
  const AnalysisRules rules = errorRules();
  EXPECT_EQ(analyseWindow(figures(1000, 10), figures(1000, 0), rules, true).verdict, Verdict::kPass)
      << "exactly at the limit passes";
  const WindowResult failed = analyseWindow(figures(1000, 11), figures(1000, 0), rules, true);
  EXPECT_EQ(failed.verdict, Verdict::kFail);
  EXPECT_EQ(failed.checks[0].rule, "max_error_rate");
  EXPECT_NEAR(failed.checks[0].canary, 0.011, 1e-12);
  EXPECT_NE(failed.reason.find("11 of 1000"), std::string::npos) << failed.reason;
}

TEST(RolloutAnalysisTest, TheRelativeErrorRuleNeedsASignificantDifference) {
  AnalysisRules rules;
  rules.min_requests = 100;
  rules.max_error_rate_vs_baseline = 1.2;
  // 2 of 200 against 1 of 2,000: ten times the rate, but p = 0.032: noise at 0.99.
  rules.confidence = 0.99;
  WindowResult noise = analyseWindow(figures(200, 2), figures(2000, 1), rules, true);
  EXPECT_EQ(noise.verdict, Verdict::kPass) << noise.reason;
  EXPECT_NE(noise.checks[0].detail.find("not significant"), std::string::npos);
  // ... and a failure at 0.95.
  rules.confidence = 0.95;
  EXPECT_EQ(analyseWindow(figures(200, 2), figures(2000, 1), rules, true).verdict, Verdict::kFail);
  // 10 of 200 fails at any confidence.
  rules.confidence = 0.9999;
  WindowResult real = analyseWindow(figures(200, 10), figures(2000, 1), rules, true);
  EXPECT_EQ(real.verdict, Verdict::kFail);
  EXPECT_NE(real.reason.find("10 of 200"), std::string::npos) << real.reason;
  rules.confidence = 0.99;
  // No error on either side: nothing to test.
  EXPECT_EQ(analyseWindow(figures(500, 0), figures(500, 0), rules, true).verdict, Verdict::kPass);
  // Significant but within the factor: 1.1x the baseline's rate passes a 1.2 limit.
  EXPECT_EQ(analyseWindow(figures(100000, 1100), figures(100000, 1000), rules, true).verdict,
            Verdict::kPass);
  // Both all errors: not worse than the baseline (the absolute rule is the one to catch it).
  EXPECT_EQ(analyseWindow(figures(200, 200), figures(200, 200), rules, true).verdict,
            Verdict::kPass);
}

TEST(RolloutAnalysisTest, LatencyRulesUseTheP99) {
  AnalysisRules rules;
  rules.min_requests = 100;
  rules.max_p99_seconds = 0.1;
  rules.max_p99_vs_baseline = 1.2;
  // 2 ms against 2 ms: both rules pass.
  EXPECT_EQ(analyseWindow(figures(500, 0, 0.002), figures(500, 0, 0.002), rules, true).verdict,
            Verdict::kPass);
  // 200 ms: above the absolute limit.
  WindowResult slow = analyseWindow(figures(500, 0, 0.2), figures(500, 0, 0.002), rules, true);
  EXPECT_EQ(slow.verdict, Verdict::kFail);
  EXPECT_EQ(slow.checks[0].rule, "max_p99");
  EXPECT_NE(slow.reason.find("above 100.0 ms"), std::string::npos) << slow.reason;
  // 40 ms against 4 ms: under the absolute limit, ten times the baseline.
  WindowResult relative = analyseWindow(figures(500, 0, 0.04), figures(500, 0, 0.004), rules, true);
  EXPECT_EQ(relative.verdict, Verdict::kFail);
  EXPECT_EQ(relative.checks[1].rule, "max_p99_vs_baseline");
  EXPECT_EQ(relative.checks[0].verdict, Verdict::kPass);
}

}  // namespace
}  // namespace sy::proxy::control
