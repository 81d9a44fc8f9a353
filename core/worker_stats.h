#pragma once

#include <cstdint>

#include "core/local_counter.h"

namespace sy::core {

// One worker's client-side counters; cache-line aligned so that workers never share a line.
// Only the worker writes them; the control thread sums them at scrape time.
struct alignas(64) WorkerStats {
  LocalCounter connections_accepted;
  LocalCounter connections_open;
  LocalCounter requests;
  LocalCounter responses_1xx;
  LocalCounter responses_2xx;
  LocalCounter responses_3xx;
  LocalCounter responses_4xx;
  LocalCounter responses_5xx;
  LocalCounter local_replies;
  LocalCounter upstream_failures;
  LocalCounter retries;
  LocalCounter bytes_in;
  LocalCounter bytes_out;
  LocalCounter accept_fd_limit;      // accept failed: out of file descriptors
  LocalCounter accept_failed_other;  // accept failed for another reason
};

}  // namespace sy::core
