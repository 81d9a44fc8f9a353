#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/net_address.h"
#include "core/timeout_queue.h"
#include "routing/config/model.h"
#include "tls/client_context.h"

namespace sy::health {

struct ProbeResult {
  bool passed = false;
  std::string error;  // why it failed; empty when it passed
  int status = 0;     // the HTTP status answered; 0 when no response arrived (or a TCP check)
  uint64_t duration_ns = 0;
};

// Runs one health check against `address` on the control loop over a connection of its own
// (never one of the workers' pooled connections): TCP connect only, or an HTTP request whose
// status must be in the expected ranges and whose body must contain `body_contains`. With a
// TLS context (the pool's `tls`), an HTTP check speaks TLS with it: SNI, CA, verification and
// client certificate as the pool's requests; a failed handshake fails the check with the
// reason. A TCP check only connects, TLS or not. `done` runs exactly once, within the check's
// timeout (which covers the handshake), unless cancelled first.
class Probe {
 public:
  using Done = std::function<void(const ProbeResult&)>;

  // Returns a handle; calling cancel() on it guarantees `done` will not run.
  static std::shared_ptr<Probe> start(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                                      const core::NetAddress& address,
                                      const routing::config::HealthCheckConfig& check,
                                      const std::string& host_header, Done done,
                                      std::shared_ptr<const tls::ClientContext> tls = nullptr);
  // The same over a request of the caller's (a complete HTTP/1.1 request with
  // "Connection: close"), judged by `check`'s statuses, body_contains and timeout: the one-shot
  // HTTP client of the control loop (the rollout webhooks use it).
  static std::shared_ptr<Probe> send(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                                     const core::NetAddress& address,
                                     const routing::config::HealthCheckConfig& check,
                                     std::string request, Done done,
                                     std::shared_ptr<const tls::ClientContext> tls = nullptr);
  virtual ~Probe() = default;
  virtual void cancel() = 0;

  // The request an HTTP check sends (exposed for tests).
  static std::string buildRequest(const routing::config::HealthCheckConfig& check,
                                  const std::string& host_header);
};

}  // namespace sy::health
