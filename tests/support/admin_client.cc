#include "tests/support/admin_client.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sy::testing {

AdminResult adminCall(uint16_t admin_port, std::string_view method, std::string_view target,
                      const Headers& headers, std::string_view body) {
  HttpClient client(std::chrono::seconds(30));
  AdminResult result;
  if (!client.connect(admin_port)) {
    result.error = absl::StrCat("admin connect: ", client.lastError());
    return result;
  }
  result.response = client.request(method, target, headers, body);
  if (!result.response.has_value()) {
    result.error = absl::StrCat("admin ", std::string(target), ": ", client.lastError());
    return result;
  }
  result.status = result.response->status;
  result.body = parseJson(result.response->body).value_or(nlohmann::json());
  return result;
}

absl::StatusOr<uint16_t> adminPortOf(ChildProcess& switchyard, std::chrono::milliseconds timeout) {
  const std::optional<nlohmann::json> event =
      waitForLogEvent(switchyard, "admin_listening", timeout);
  if (!event.has_value() || !event->contains("address") || !(*event)["address"].is_string()) {
    return absl::UnavailableError(
        absl::StrCat("no admin_listening event; output:\n", switchyard.output()));
  }
  const std::string address = (*event)["address"].get<std::string>();
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port) || port == 0 ||
      port > 65535) {
    return absl::InternalError(absl::StrCat("admin_listening without a port: ", address));
  }
  return static_cast<uint16_t>(port);
}

}  // namespace sy::testing
