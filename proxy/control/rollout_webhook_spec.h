#pragma once

// The optional webhooks of a rollout, Flagger style, as the spec's "webhooks" object gives them:
//
//   "webhooks": {"gate":   {"url": "http://127.0.0.1:8090/gate", "timeout": "2s", "retries": 2},
//                "notify": {"url": "http://127.0.0.1:8090/events"}}
//
// The gate is asked (POST) before each step advance, 2xx = go; the notification URL is told
// (POST) of every state change. Only http:// URLs: the control loop's client speaks plain
// HTTP/1.1 (a webhook receiver is an in-house service next to the balancer).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sy::proxy::control {

struct WebhookSpec {
  std::string url;   // as written
  std::string host;  // a name or an IP literal (an IPv6 one without its brackets)
  uint16_t port = 80;
  std::string target = "/";  // path and query
  uint64_t timeout_ms = 5000;
  uint32_t retries = 2;  // further attempts after a failed one, at once

  nlohmann::json toJson() const;
};

struct RolloutWebhooks {
  std::optional<WebhookSpec> gate;
  std::optional<WebhookSpec> notify;

  bool empty() const { return !gate && !notify; }
  nlohmann::json toJson() const;
};

// InvalidArgument "FIELD: WHAT": how every error of a rollout spec reads, webhooks included.
absl::Status invalidSpecField(const std::string& field, const std::string& what);

// "http://HOST[:PORT][/PATH]"; errors name `field`.
absl::StatusOr<WebhookSpec> parseWebhookUrl(const std::string& url, const std::string& field);
// The "webhooks" object of a spec; errors name the field ("webhooks.gate.url: ...").
absl::StatusOr<RolloutWebhooks> parseRolloutWebhooks(const nlohmann::json& webhooks);

}  // namespace sy::proxy::control
