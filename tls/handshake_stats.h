#pragma once

#include <cstddef>

#include "core/local_counter.h"
#include "core/per_worker.h"

namespace sy::tls {

// How a server-side handshake ended; the `result` label of switchyard_tls_handshakes_total.
// Each accepted TLS connection counts exactly once (a connection closed by a drain or shutdown
// before its handshake ended does not count).
enum class HandshakeResult {
  kOk,
  kProtocolVersion,        // the client offers only versions below min_version
  kNoSharedCipher,         // no cipher suite or group in common
  kUnrecognizedName,       // strict_sni refused the SNI name
  kNoApplicationProtocol,  // ALPN offered, but not http/1.1
  kPlainHttp,              // a plain HTTP request (answered 400)
  kNotTls,                 // the first bytes are not a TLS handshake record
  kTimeout,                // header_timeout expired during the handshake
  kClosed,                 // the client closed or reset the connection mid-handshake
  kOther,                  // any other failure (a bad record, a bad certificate message, ...)
};
inline constexpr size_t kHandshakeResults = 10;

inline const char* handshakeResultName(HandshakeResult result) {
  switch (result) {
    case HandshakeResult::kOk:
      return "ok";
    case HandshakeResult::kProtocolVersion:
      return "protocol_version";
    case HandshakeResult::kNoSharedCipher:
      return "no_shared_cipher";
    case HandshakeResult::kUnrecognizedName:
      return "unrecognized_name";
    case HandshakeResult::kNoApplicationProtocol:
      return "no_application_protocol";
    case HandshakeResult::kPlainHttp:
      return "plain_http";
    case HandshakeResult::kNotTls:
      return "not_tls";
    case HandshakeResult::kTimeout:
      return "timeout";
    case HandshakeResult::kClosed:
      return "closed";
    case HandshakeResult::kOther:
      return "other";
  }
  return "other";
}

// The versions a handshake can settle on (min_version allows no older one).
inline constexpr size_t kTlsVersions = 2;
inline constexpr const char* kTlsVersionNames[kTlsVersions] = {"TLSv1.2", "TLSv1.3"};

// One worker's handshake figures for one listener; only that worker writes them.
struct alignas(64) HandshakeWorkerStats {
  core::LocalCounter results[kHandshakeResults];  // by HandshakeResult
  core::LocalCounter resumed;                     // ok handshakes that resumed a session
  core::LocalCounter versions[kTlsVersions];      // ok handshakes by kTlsVersionNames
};

// One listener's handshake figures, one slot per worker, summed at scrape time. The snapshot
// builder keeps one per listener name, so the counters survive reloads.
using HandshakeStats = core::PerWorker<HandshakeWorkerStats>;

}  // namespace sy::tls
