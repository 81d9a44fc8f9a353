#include "proxy/certificate_check.h"

#include <string>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace sy::proxy {

int checkCertificates(const routing::config::Config& config, std::FILE* out, std::FILE* err) {
  int failed = 0;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const routing::config::ListenerConfig& listener = config.listeners[i];
    if (!listener.tls.has_value()) continue;
    auto context = tls::ServerContext::create(*listener.tls);
    if (!context.ok()) {
      std::fprintf(err, "listeners[%zu] (%s): %s\n", i, listener.name.c_str(),
                   std::string(context.status().message()).c_str());
      ++failed;
      continue;
    }
    for (const tls::CertificateInfo& info : (*context)->certificates()) {
      const absl::Time expiry = absl::FromUnixSeconds(info.not_after);
      const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expiry, absl::UTCTimeZone());
      const int64_t days = absl::ToInt64Hours(expiry - now) / 24;
      const std::string names = absl::StrJoin(info.names, ",");
      std::fprintf(out, "listener %s: %s: %s %s, serial %s, expires %s (%s)\n",
                   listener.name.c_str(), info.cert_file.c_str(), info.key_type.c_str(),
                   names.c_str(), info.serial.c_str(), when.c_str(),
                   expiry <= now ? "EXPIRED" : (std::to_string(days) + " days left").c_str());
    }
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
