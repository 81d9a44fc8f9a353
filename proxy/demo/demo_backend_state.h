#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/demo/demo_backend_options.h"

namespace sy::proxy {

// How a response ends its head with respect to the connection.
enum class ConnectionHeader {
  kNone,       // HTTP/1.1 keep-alive: nothing to say
  kKeepAlive,  // HTTP/1.0 client that asked for keep-alive
  kClose,      // the connection closes after this response
};

// What every loop shares: the configuration, the precomputed default answer and the settings
// /control changes at run time. The mutable settings are atomics because any loop may read or
// write them; relaxed order is enough, each one stands alone.
class DemoBackendState {
 public:
  explicit DemoBackendState(const DemoBackendOptions& options);
  DemoBackendState(const DemoBackendState&) = delete;
  DemoBackendState& operator=(const DemoBackendState&) = delete;

  const std::string& name() const { return name_; }
  // The body of most answers: "NAME\n".
  std::string_view defaultBody() const { return default_body_; }
  // --delay, rounded up to whole milliseconds (libuv timers count milliseconds).
  uint64_t delayMs() const { return delay_ms_; }

  int healthStatus() const { return health_status_.load(std::memory_order_relaxed); }
  void setHealthStatus(int status) { health_status_.store(status, std::memory_order_relaxed); }

  struct FailPolicy {
    uint32_t rate_ppm;  // parts per million
    int status;
  };
  // Rate and status live in one atomic word so that a reader never sees half of an update.
  FailPolicy failPolicy() const;
  void setFailPolicy(double rate, int status);

  // Totals over all loops for GET /control/stats.
  void countRequest() { requests_.fetch_add(1, std::memory_order_relaxed); }
  void countConnection() { connections_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }

  // --reset-rate in parts per million (fixed at startup).
  uint32_t resetRatePpm() const { return reset_rate_ppm_; }
  // --log-requests.
  bool logRequests() const { return log_requests_; }

  // The precomputed "200 NAME\n" answer, split around the Date value that changes every second:
  // head + date + tail (+ body unless HEAD). Writing the three pieces with one writev allocates
  // nothing.
  std::string_view defaultHead(ConnectionHeader connection) const {
    return default_heads_[static_cast<int>(connection)];
  }
  std::string_view defaultTail(bool with_body) const {
    return with_body ? std::string_view(default_tail_)
                     : std::string_view(default_tail_).substr(0, 4);
  }

 private:
  const std::string name_;
  const std::string default_body_;
  const uint64_t delay_ms_;
  std::string default_heads_[3];
  std::string default_tail_;
  std::atomic<int> health_status_;
  std::atomic<uint64_t> fail_policy_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_{0};
  const uint32_t reset_rate_ppm_;
  const bool log_requests_;
};

std::string_view statusReason(int status);
// 1xx, 204 and 304 responses have no body (RFC 9110 §6.4.1).
bool statusAllowsBody(int status);

// Appends a response head: status line, X-Backend, Content-Type (unless empty), Content-Length
// (or Transfer-Encoding: chunked when `content_length` is empty), Connection, Date,
// `extra_headers` (complete "Name: value\r\n" lines) and the blank line. For statuses without a
// body, neither Content-Length nor Transfer-Encoding is written.
void appendResponseHead(std::string* out, int status, std::string_view backend_name,
                        std::string_view date, std::string_view content_type,
                        std::optional<uint64_t> content_length, ConnectionHeader connection,
                        std::string_view extra_headers = {});

}  // namespace sy::proxy
