#include "proxy/control/rollout_webhook_spec.h"

#include <charconv>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace sy::proxy::control {

absl::Status invalidSpecField(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

namespace {

bool hostCharactersOk(const std::string& host) {
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return false;
  }
  return !host.empty();
}

absl::StatusOr<WebhookSpec> parseHook(const nlohmann::json& hook, const std::string& field) {
  if (hook.is_string()) return parseWebhookUrl(hook.get<std::string>(), field);
  if (!hook.is_object()) {
    return invalidSpecField(
        field, "an object {\"url\": \"http://...\", \"timeout\": \"2s\", \"retries\": 2}");
  }
  for (const auto& [key, value] : hook.items()) {
    if (key != "url" && key != "timeout" && key != "retries") {
      return invalidSpecField(absl::StrCat(field, ".", key), "unknown key");
    }
  }
  if (!hook.contains("url") || !hook["url"].is_string()) {
    return invalidSpecField(field + ".url",
                            "an http:// URL such as \"http://127.0.0.1:8090/gate\"");
  }
  absl::StatusOr<WebhookSpec> spec =
      parseWebhookUrl(hook["url"].get<std::string>(), field + ".url");
  if (!spec.ok()) return spec.status();
  if (hook.contains("timeout")) {
    absl::Duration timeout;
    if (!hook["timeout"].is_string() ||
        !absl::ParseDuration(hook["timeout"].get<std::string>(), &timeout) ||
        timeout < absl::Milliseconds(100) || timeout > absl::Seconds(60)) {
      return invalidSpecField(field + ".timeout", "a duration between 100ms and 1m such as \"2s\"");
    }
    spec->timeout_ms = static_cast<uint64_t>(absl::ToInt64Milliseconds(timeout));
  }
  if (hook.contains("retries")) {
    const nlohmann::json& retries = hook["retries"];
    if (!retries.is_number_integer() || retries.get<int64_t>() < 0 || retries.get<int64_t>() > 10) {
      return invalidSpecField(field + ".retries", "an integer in 0..10");
    }
    spec->retries = retries.get<uint32_t>();
  }
  return spec;
}

}  // namespace

absl::StatusOr<WebhookSpec> parseWebhookUrl(const std::string& url, const std::string& field) {
  const std::string what = "an http:// URL such as \"http://127.0.0.1:8090/gate\"";
  if (absl::StartsWithIgnoreCase(url, "https://")) {
    return invalidSpecField(field,
                            absl::StrCat("\"", url, "\": only http:// webhooks are supported"));
  }
  if (!absl::StartsWithIgnoreCase(url, "http://")) {
    return invalidSpecField(field, absl::StrCat("\"", url, "\" is not ", what));
  }
  WebhookSpec spec;
  spec.url = url;
  const std::string rest = url.substr(7);
  const size_t slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    spec.target = rest.substr(slash);
    if (spec.target.front() == '?') spec.target = "/" + spec.target;
  }
  for (const char c : spec.target) {
    if (c <= ' ' || c == 0x7f || c == '#') {
      return invalidSpecField(field, absl::StrCat("\"", url,
                                                  "\": the path has a space, a control "
                                                  "character or a fragment"));
    }
  }
  if (authority.find('@') != std::string::npos) {
    return invalidSpecField(
        field, absl::StrCat("\"", url, "\": credentials in the URL are not supported"));
  }
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos)
      return invalidSpecField(field, absl::StrCat("\"", url, "\" is not ", what));
    spec.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return invalidSpecField(field, absl::StrCat("\"", url, "\" is not ", what));
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    spec.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    if (spec.host.find(':') != std::string::npos) {
      return invalidSpecField(field,
                              absl::StrCat("\"", url, "\": write an IPv6 address in brackets"));
    }
  }
  if (!hostCharactersOk(spec.host)) {
    return invalidSpecField(field, absl::StrCat("\"", url, "\" has no valid host"));
  }
  if (!port_text.empty() || authority.back() == ':') {
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return invalidSpecField(field,
                              absl::StrCat("\"", url, "\" has an invalid port: expected 1-65535"));
    }
    spec.port = static_cast<uint16_t>(port);
  }
  return spec;
}

absl::StatusOr<RolloutWebhooks> parseRolloutWebhooks(const nlohmann::json& webhooks) {
  if (!webhooks.is_object()) {
    return invalidSpecField("webhooks", "an object with \"gate\" and/or \"notify\"");
  }
  RolloutWebhooks parsed;
  for (const auto& [key, value] : webhooks.items()) {
    if (key != "gate" && key != "notify") {
      return invalidSpecField(absl::StrCat("webhooks.", key), "unknown key (gate, notify)");
    }
    absl::StatusOr<WebhookSpec> hook = parseHook(value, absl::StrCat("webhooks.", key));
    if (!hook.ok()) return hook.status();
    (key == "gate" ? parsed.gate : parsed.notify) = std::move(*hook);
  }
  return parsed;
}

nlohmann::json WebhookSpec::toJson() const {
  return {{"url", url},
          {"timeout", absl::FormatDuration(absl::Milliseconds(static_cast<int64_t>(timeout_ms)))},
          {"retries", retries}};
}

nlohmann::json RolloutWebhooks::toJson() const {
  nlohmann::json out = nlohmann::json::object();
  if (gate) out["gate"] = gate->toJson();
  if (notify) out["notify"] = notify->toJson();
  return out;
}

}  // namespace sy::proxy::control
