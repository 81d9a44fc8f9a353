#include "upstream/upstream_failure.h"

#include <array>

namespace sy::upstream {
namespace {

using Stats = BackendWorkerStats;

// Indexed by UpstreamFailure. Timeouts answer 504 (RFC 9110 15.6.5), everything else 502.
constexpr std::array<UpstreamFailureInfo, 6> kFailures = {{
    {"connect_failed", 502, "cannot connect to the backend", "cannot connect to any backend",
     &Stats::connect_failures, FailureRetry::kAlways, true},
    {"connect_timeout", 504, "timed out connecting to the backend",
     "timed out connecting to every backend", &Stats::timeouts, FailureRetry::kAlways, true},
    {"response_timeout", 504, "the backend did not answer in time", nullptr, &Stats::timeouts,
     FailureRetry::kNever, true},
    {"idle_timeout", 504, "the backend stalled", nullptr, &Stats::timeouts, FailureRetry::kNever,
     true},
    {"closed_early", 502, "the backend closed the connection", nullptr, &Stats::resets,
     FailureRetry::kIfIdempotent, true},
    {"protocol_error", 502, "invalid response from the backend", nullptr, &Stats::protocol_errors,
     FailureRetry::kNever, false},
}};

static_assert(static_cast<size_t>(UpstreamFailure::kProtocolError) + 1 == kFailures.size(),
              "one row per UpstreamFailure, in declaration order");

}  // namespace

const UpstreamFailureInfo& failureInfo(UpstreamFailure failure) {
  return kFailures[static_cast<size_t>(failure)];
}

}  // namespace sy::upstream
