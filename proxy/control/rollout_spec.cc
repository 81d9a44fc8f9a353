#include "proxy/control/rollout_spec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace sy::proxy::control {

namespace {

// A duration as the configuration writes them ("30s", "5m", "250ms"), within [min, max].
absl::StatusOr<uint64_t> durationMs(const nlohmann::json& value, const std::string& field,
                                    absl::Duration min, absl::Duration max) {
  absl::Duration duration;
  if (!value.is_string() || !absl::ParseDuration(value.get<std::string>(), &duration) ||
      duration < min || duration > max) {
    return invalidSpecField(field,
                            absl::StrCat("a duration between ", absl::FormatDuration(min), " and ",
                                         absl::FormatDuration(max), " such as \"30s\""));
  }
  return static_cast<uint64_t>(absl::ToInt64Milliseconds(duration));
}

absl::StatusOr<double> number(const nlohmann::json& value, const std::string& field, double min,
                              double max, const std::string& range) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < min ||
      value.get<double>() > max) {
    return invalidSpecField(field, absl::StrCat("a number ", range));
  }
  return value.get<double>();
}

absl::Status checkKeys(const nlohmann::json& object, const std::string& where,
                       const std::set<std::string>& known) {
  for (const auto& [key, value] : object.items()) {
    if (!known.contains(key)) return invalidSpecField(absl::StrCat(where, key), "unknown key");
  }
  return absl::OkStatus();
}

absl::Status parseSteps(const nlohmann::json& steps, RolloutSpec& spec) {
  if (!steps.is_array() || steps.empty()) {
    return invalidSpecField("steps", "a non-empty array of {\"weight\": W, \"hold\": \"D\"}");
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string at = absl::StrCat("steps[", i, "]");
    const nlohmann::json& step = steps[i];
    if (!step.is_object())
      return invalidSpecField(at, "an object {\"weight\": W, \"hold\": \"D\"}");
    if (absl::Status keys = checkKeys(step, at + ".", {"weight", "hold"}); !keys.ok()) return keys;
    if (!step.contains("weight")) return invalidSpecField(at + ".weight", "missing");
    absl::StatusOr<double> weight = number(step["weight"], at + ".weight", 0, 100, "in (0, 100]");
    if (!weight.ok()) return weight.status();
    if (*weight <= 0) return invalidSpecField(at + ".weight", "a number in (0, 100]");
    if (!spec.steps.empty() && *weight <= spec.steps.back().weight) {
      return invalidSpecField(at + ".weight", "weights must increase from step to step");
    }
    RolloutStep parsed{.weight = *weight};
    if (step.contains("hold")) {
      absl::StatusOr<uint64_t> hold =
          durationMs(step["hold"], at + ".hold", absl::ZeroDuration(), absl::Hours(24 * 7));
      if (!hold.ok()) return hold.status();
      parsed.hold_ms = *hold;
    }
    spec.steps.push_back(parsed);
  }
  return absl::OkStatus();
}

absl::Status parseAnalysis(const nlohmann::json& analysis, RolloutSpec& spec) {
  if (!analysis.is_object()) return invalidSpecField("analysis", "an object");
  if (absl::Status keys = checkKeys(
          analysis, "analysis.",
          {"interval", "min_requests", "max_error_rate", "max_error_rate_vs_baseline", "max_p99",
           "max_p99_vs_baseline", "failure_limit", "confidence", "error_statuses"});
      !keys.ok()) {
    return keys;
  }
  AnalysisRules& rules = spec.rules;
  if (analysis.contains("interval")) {
    absl::StatusOr<uint64_t> interval = durationMs(analysis["interval"], "analysis.interval",
                                                   absl::Milliseconds(100), absl::Hours(1));
    if (!interval.ok()) return interval.status();
    spec.interval_ms = *interval;
  }
  if (analysis.contains("min_requests")) {
    const nlohmann::json& value = analysis["min_requests"];
    if (!value.is_number_integer() || value.get<int64_t>() < 1) {
      return invalidSpecField("analysis.min_requests", "an integer >= 1");
    }
    rules.min_requests = value.get<uint64_t>();
  }
  if (analysis.contains("failure_limit")) {
    const nlohmann::json& value = analysis["failure_limit"];
    if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100) {
      return invalidSpecField("analysis.failure_limit", "an integer in 1..100");
    }
    spec.failure_limit = value.get<uint32_t>();
  }
  const auto optionalNumber = [&](const char* key, double min, double max, const char* range,
                                  std::optional<double>& out) -> absl::Status {
    if (!analysis.contains(key)) return absl::OkStatus();
    absl::StatusOr<double> value =
        number(analysis[key], absl::StrCat("analysis.", key), min, max, range);
    if (!value.ok()) return value.status();
    out = *value;
    return absl::OkStatus();
  };
  if (absl::Status s = optionalNumber("max_error_rate", 0, 1, "in [0, 1]", rules.max_error_rate);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = optionalNumber("max_error_rate_vs_baseline", 1, 1000, "in [1, 1000]",
                                      rules.max_error_rate_vs_baseline);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          optionalNumber("max_p99_vs_baseline", 1, 1000, "in [1, 1000]", rules.max_p99_vs_baseline);
      !s.ok()) {
    return s;
  }
  if (analysis.contains("max_p99")) {
    absl::StatusOr<uint64_t> p99 = durationMs(analysis["max_p99"], "analysis.max_p99",
                                              absl::Milliseconds(1), absl::Seconds(60));
    if (!p99.ok()) return p99.status();
    rules.max_p99_seconds = static_cast<double>(*p99) / 1000.0;
  }
  if (analysis.contains("confidence")) {
    absl::StatusOr<double> confidence =
        number(analysis["confidence"], "analysis.confidence", 0.5, 0.9999, "in [0.5, 0.9999]");
    if (!confidence.ok()) return confidence.status();
    rules.confidence = *confidence;
  }
  if (analysis.contains("error_statuses")) {
    const nlohmann::json& classes = analysis["error_statuses"];
    rules.error_classes = 0;
    const std::string what = "an array of status classes, e.g. [\"5xx\"] or [\"4xx\", \"5xx\"]";
    if (!classes.is_array() || classes.empty())
      return invalidSpecField("analysis.error_statuses", what);
    for (const nlohmann::json& entry : classes) {
      const std::string text = entry.is_string() ? entry.get<std::string>() : "";
      if (text.size() != 3 || text[0] < '1' || text[0] > '5' || text.substr(1) != "xx") {
        return invalidSpecField("analysis.error_statuses", what);
      }
      rules.error_classes |= static_cast<ErrorClasses>(1u << (text[0] - '1'));
    }
  }
  if (!rules.max_error_rate && !rules.max_error_rate_vs_baseline && !rules.max_p99_seconds &&
      !rules.max_p99_vs_baseline) {
    return invalidSpecField("analysis",
                            "at least one rule (max_error_rate, max_error_rate_vs_baseline, "
                            "max_p99, max_p99_vs_baseline)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RolloutSpec> parseRolloutSpec(const nlohmann::json& body,
                                             const std::string& default_route) {
  if (!body.is_object()) return invalidSpecField("body", "a JSON object");
  if (absl::Status keys = checkKeys(body, "",
                                    {"kind", "route", "pool", "steps", "analysis", "on_success",
                                     "on_inconclusive", "on_restart", "webhooks"});
      !keys.ok()) {
    return keys;
  }
  RolloutSpec spec;
  if (body.contains("kind")) {
    if (body["kind"] == "canary") {
      spec.kind = RolloutKind::kCanary;
    } else if (body["kind"] == "verify") {
      spec.kind = RolloutKind::kVerify;
    } else {
      return invalidSpecField("kind", "\"canary\" or \"verify\"");
    }
  }
  if (body.contains("route")) {
    if (!body["route"].is_string() || body["route"].get<std::string>().empty()) {
      return invalidSpecField("route", "a route name");
    }
    spec.route = body["route"].get<std::string>();
  } else {
    spec.route = default_route;
  }
  if (!body.contains("pool") || !body["pool"].is_string() ||
      body["pool"].get<std::string>().empty()) {
    return invalidSpecField("pool", "the canary pool's name");
  }
  spec.pool = body["pool"].get<std::string>();
  if (!body.contains("steps")) return invalidSpecField("steps", "missing");
  if (absl::Status s = parseSteps(body["steps"], spec); !s.ok()) return s;
  if (!body.contains("analysis")) return invalidSpecField("analysis", "missing");
  if (absl::Status s = parseAnalysis(body["analysis"], spec); !s.ok()) return s;
  if (spec.kind == RolloutKind::kVerify &&
      (spec.steps.size() != 1 || spec.steps.front().weight != 100)) {
    return invalidSpecField("steps", "a verify rollout has one step, at weight 100");
  }
  if (body.contains("on_success")) {
    const nlohmann::json& value = body["on_success"];
    if (value == "promote") {
      spec.on_success = OnSuccess::kPromote;
    } else if (value == "hold") {
      spec.on_success = OnSuccess::kHold;
    } else {
      return invalidSpecField("on_success", "\"promote\" or \"hold\"");
    }
  }
  if (body.contains("on_inconclusive")) {
    const nlohmann::json& value = body["on_inconclusive"];
    if (value == "wait") {
      spec.on_inconclusive = OnInconclusive::kWait;
    } else if (value == "advance") {
      spec.on_inconclusive = OnInconclusive::kAdvance;
    } else {
      return invalidSpecField("on_inconclusive", "\"wait\" or \"advance\"");
    }
  }
  if (body.contains("on_restart")) {
    const nlohmann::json& value = body["on_restart"];
    if (value == "resume") {
      spec.on_restart = OnRestart::kResume;
    } else if (value == "hold") {
      spec.on_restart = OnRestart::kHold;
    } else {
      return invalidSpecField("on_restart", "\"resume\" or \"hold\"");
    }
  }
  if (body.contains("webhooks")) {
    absl::StatusOr<RolloutWebhooks> webhooks = parseRolloutWebhooks(body["webhooks"]);
    if (!webhooks.ok()) return webhooks.status();
    spec.webhooks = std::move(*webhooks);
  }
  return spec;
}

nlohmann::json verifyRolloutBody(const std::string& route, const std::string& pool,
                                 const std::string& verify) {
  absl::Duration duration;
  std::string interval = "10s";
  if (absl::ParseDuration(verify, &duration) && duration > absl::ZeroDuration()) {
    interval = absl::FormatDuration(std::clamp(absl::Trunc(duration / 6, absl::Milliseconds(1)),
                                               absl::Seconds(1), absl::Seconds(30)));
  }
  return {{"kind", "verify"},
          {"route", route},
          {"pool", pool},
          {"steps", {{{"weight", 100}, {"hold", verify}}}},
          {"analysis",
           {{"interval", interval},
            {"min_requests", 20},
            {"max_error_rate", 0.01},
            {"failure_limit", 2}}},
          {"on_success", "hold"},
          {"on_inconclusive", "advance"}};
}

nlohmann::json RolloutSpec::toJson() const {
  nlohmann::json steps_json = nlohmann::json::array();
  for (const RolloutStep& step : steps) {
    steps_json.push_back(
        {{"weight", step.weight},
         {"hold", absl::FormatDuration(absl::Milliseconds(static_cast<int64_t>(step.hold_ms)))}});
  }
  nlohmann::json analysis = {
      {"interval", absl::FormatDuration(absl::Milliseconds(static_cast<int64_t>(interval_ms)))},
      {"min_requests", rules.min_requests},
      {"failure_limit", failure_limit},
      {"confidence", rules.confidence}};
  if (rules.max_error_rate) analysis["max_error_rate"] = *rules.max_error_rate;
  if (rules.max_error_rate_vs_baseline) {
    analysis["max_error_rate_vs_baseline"] = *rules.max_error_rate_vs_baseline;
  }
  if (rules.max_p99_seconds) {
    analysis["max_p99"] = absl::FormatDuration(absl::Seconds(*rules.max_p99_seconds));
  }
  if (rules.max_p99_vs_baseline) analysis["max_p99_vs_baseline"] = *rules.max_p99_vs_baseline;
  nlohmann::json classes = nlohmann::json::array();
  for (int c = 0; c < 5; ++c) {
    if ((rules.error_classes >> c) & 1u) classes.push_back(absl::StrCat(c + 1, "xx"));
  }
  analysis["error_statuses"] = classes;
  nlohmann::json out = {
      {"kind", kind == RolloutKind::kCanary ? "canary" : "verify"},
      {"route", route},
      {"pool", pool},
      {"steps", steps_json},
      {"analysis", analysis},
      {"on_success", on_success == OnSuccess::kPromote ? "promote" : "hold"},
      {"on_inconclusive", on_inconclusive == OnInconclusive::kWait ? "wait" : "advance"},
      {"on_restart", on_restart == OnRestart::kResume ? "resume" : "hold"}};
  if (!webhooks.empty()) out["webhooks"] = webhooks.toJson();
  return out;
}

}  // namespace sy::proxy::control
