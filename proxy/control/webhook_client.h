#pragma once

// POSTs a JSON body to a rollout webhook from the control loop: a one-shot HTTP/1.1 exchange
// over the health checker's Probe (libuv, llhttp; never a worker, never blocking), a host name
// resolved with uv_getaddrinfo (libuv's thread pool), each attempt bounded by the hook's
// timeout and retried at once up to its `retries`. Control thread only.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/timeout_queue.h"
#include "nlohmann/json.hpp"
#include "proxy/control/rollout_webhook_spec.h"

namespace sy::health {
class Probe;
}

namespace sy::proxy::control {

struct WebhookOutcome {
  bool ok = false;    // a 2xx answer
  int status = 0;     // the last answer's status; 0 when none arrived
  std::string error;  // the last attempt's failure ("status 500", "timeout", "connect: ...")
  uint32_t attempts = 0;
  const char* result() const { return ok ? "ok" : status != 0 ? "rejected" : "error"; }
};

class WebhookClient {
 public:
  using Done = std::function<void(const WebhookOutcome&)>;

  WebhookClient();
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  void start(uv_loop_t* loop);
  // Cancels every call (their `done` never runs) and closes the timer.
  void close();

  // `done` runs once, on the control loop, after a 2xx or the last failed attempt.
  void post(const WebhookSpec& hook, const nlohmann::json& body, Done done);

  // The request sent (exposed for tests).
  static std::string buildRequest(const WebhookSpec& hook, const std::string& body);

 private:
  struct Call;
  void resolve(uint64_t id);
  void attempt(uint64_t id);
  void finish(uint64_t id);

  uv_loop_t* loop_ = nullptr;
  core::TimeoutQueue timeouts_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  bool closed_ = false;
};

}  // namespace sy::proxy::control
