#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "admin/admin_api.h"
#include "routing/config/model.h"

namespace sy::proxy::control {

// The bearer tokens the admin API accepts under `admin` (a start, a reload and --check read them
// alike): admin.token or admin.token_env as a token named "admin" with the operate role, then
// each [[admin.tokens]] entry. A variable that a token_env names and that is unset or empty is an
// error naming it, so that a token never silently turns into "no authentication".
absl::StatusOr<std::vector<admin::AdminApi::Credential>> adminCredentials(
    const routing::config::AdminConfig& admin);

}  // namespace sy::proxy::control
