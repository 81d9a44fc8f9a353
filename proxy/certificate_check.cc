#include "proxy/certificate_check.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace sy::proxy {

namespace {

// Loads one server TLS setting as a start would and prints its certificates; false on error.
bool checkServer(const tls::ServerSettings& settings, const std::string& where,
                 const std::string& label, absl::Time now, std::FILE* out, std::FILE* err) {
  auto context = tls::ServerContext::create(settings);
  if (!context.ok()) {
    std::fprintf(err, "%s: %s\n", where.c_str(), std::string(context.status().message()).c_str());
    return false;
  }
  for (const tls::CertificateInfo& info : (*context)->certificates()) {
    const absl::Time expiry = absl::FromUnixSeconds(info.not_after);
    const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expiry, absl::UTCTimeZone());
    const int64_t days = absl::ToInt64Hours(expiry - now) / 24;
    const std::string names = absl::StrJoin(info.names, ",");
    std::fprintf(out, "%s: %s: %s %s, serial %s, expires %s (%s)\n", label.c_str(),
                 info.cert_file.c_str(), info.key_type.c_str(), names.c_str(), info.serial.c_str(),
                 when.c_str(),
                 expiry <= now ? "EXPIRED" : (std::to_string(days) + " days left").c_str());
  }
  return true;
}

}  // namespace

int checkCertificates(const routing::config::Config& config, std::FILE* out, std::FILE* err) {
  int failed = 0;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const routing::config::ListenerConfig& listener = config.listeners[i];
    if (!listener.tls.has_value()) continue;
    if (!checkServer(*listener.tls, absl::StrCat("listeners[", i, "] (", listener.name, ")"),
                     "listener " + listener.name, now, out, err)) {
      ++failed;
    }
  }
  if (config.admin.tls.has_value() &&
      !checkServer(*config.admin.tls, "admin", "admin", now, out, err)) {
    ++failed;
  }
  for (size_t i = 0; i < config.pools.size(); ++i) {
    const routing::config::PoolConfig& pool = config.pools[i];
    if (!pool.tls.has_value()) continue;
    auto context = tls::ClientContext::create(*pool.tls);
    if (!context.ok()) {
      std::fprintf(err, "pools[%zu] (%s): %s\n", i, pool.name.c_str(),
                   std::string(context.status().message()).c_str());
      ++failed;
    }
  }
  return failed;
}

}  // namespace sy::proxy
