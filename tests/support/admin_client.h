#pragma once

// A client for the admin API, shared by every integration test that drives it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {

struct AdminResult {
  int status = 0;       // 0: no answer (the error is in `error`)
  nlohmann::json body;  // the answer parsed as JSON, null when it is not JSON
  std::optional<Response> response;
  std::string error;

  // The raw body (for /metrics, and for messages).
  std::string text() const { return response.has_value() ? response->body : error; }
};

// One request to the admin API on a fresh connection (timeout 30 s: drains with wait answer
// late on purpose).
AdminResult adminCall(uint16_t admin_port, std::string_view method, std::string_view target,
                      const Headers& headers = {}, std::string_view body = {});

// The admin API's port, from the `admin_listening` event of a running switchyard.
absl::StatusOr<uint16_t> adminPortOf(ChildProcess& switchyard,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace sy::testing
