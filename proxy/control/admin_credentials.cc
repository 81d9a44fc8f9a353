#include "proxy/control/admin_credentials.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace sy::proxy::control {
namespace {

absl::StatusOr<std::string> fromEnvironment(const std::string& key, const std::string& variable) {
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " names ", variable, ", which is not set (or empty) in the environment"));
  }
  return std::string(value);
}

}  // namespace

absl::StatusOr<std::vector<admin::AdminApi::Credential>> adminCredentials(
    const routing::config::AdminConfig& admin) {
  std::vector<admin::AdminApi::Credential> credentials;
  if (!admin.token.empty()) {
    credentials.push_back({"admin", admin.token, routing::config::AdminRole::kOperate});
  } else if (!admin.token_env.empty()) {
    auto secret = fromEnvironment("admin.token_env", admin.token_env);
    if (!secret.ok()) return secret.status();
    credentials.push_back({"admin", *std::move(secret), routing::config::AdminRole::kOperate});
  }
  for (size_t i = 0; i < admin.tokens.size(); ++i) {
    const routing::config::AdminTokenConfig& token = admin.tokens[i];
    std::string secret = token.token;
    if (!token.token_env.empty()) {
      auto value =
          fromEnvironment(absl::StrCat("admin.tokens[", i, "].token_env"), token.token_env);
      if (!value.ok()) return value.status();
      secret = *std::move(value);
    }
    credentials.push_back({token.name, std::move(secret), token.role});
  }
  // Two tokens from the environment may still hold one secret; then the name recorded for a
  // change would be a guess.
  for (size_t i = 0; i < credentials.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (credentials[i].secret == credentials[j].secret) {
        return absl::InvalidArgumentError(
            absl::StrCat("admin tokens \"", credentials[j].name, "\" and \"", credentials[i].name,
                         "\" have the same secret: give each its own"));
      }
    }
  }
  return credentials;
}

}  // namespace sy::proxy::control
