#pragma once

#include <cstdint>

#include "core/local_counter.h"
#include "upstream/backend_stats.h"

namespace sy::upstream {

// How an exchange with a backend failed (reported by UpstreamConnection).
enum class UpstreamFailure : uint8_t {
  kConnectFailed,    // refused, unreachable: nothing was sent
  kConnectTimeout,   // nothing was sent
  kResponseTimeout,  // request sent, no response head in time
  kIdleTimeout,      // no progress mid-exchange
  kClosedEarly,      // EOF, reset or write error before the response completed
  kProtocolError,    // the backend's response is not valid HTTP/1.x
};

// Whether a failed exchange may be tried again on another backend (when the request body is
// still at hand and tries remain).
enum class FailureRetry : uint8_t {
  kAlways,        // nothing reached the backend: repeating the request cannot repeat its effect
  kIfIdempotent,  // the backend may have seen the request (a stale keep-alive connection, a
                  // backend that died): retried when repeating it is harmless, like nginx's
                  // proxy_next_upstream error
  kNever,
};

// Everything a failure means, in one row per failure (upstream_failure.cc), so that the status,
// the counters, the retries and outlier ejection cannot disagree about it.
struct UpstreamFailureInfo {
  const char* name;    // the `failure` field of log lines
  int status;          // the client's answer when no response byte was sent yet
  const char* detail;  // that answer's detail text
  // After a failure that sent nothing (FailureRetry::kAlways), when every backend was tried:
  // the answer's detail text (null for the other failures).
  const char* every_backend_detail;
  core::LocalCounter BackendWorkerStats::*counter;  // the backend's counter it adds to
  FailureRetry retry;
  // Counts against the backend for outlier ejection. Not a protocol error: the backend answered,
  // so it is reachable; its bad answers show in its counters.
  bool counts_for_ejection;
};

const UpstreamFailureInfo& failureInfo(UpstreamFailure failure);
inline const char* failureName(UpstreamFailure failure) { return failureInfo(failure).name; }

}  // namespace sy::upstream
