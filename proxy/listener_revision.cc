#include "proxy/listener_revision.h"

namespace sy::proxy {
namespace {

bool sameHttp2Limits(const routing::Http2Limits& a, const routing::Http2Limits& b) {
  return a.max_concurrent_streams == b.max_concurrent_streams &&
         a.max_header_list_size == b.max_header_list_size &&
         a.hpack_table_size == b.hpack_table_size &&
         a.response_hpack_table_size == b.response_hpack_table_size &&
         a.max_resets == b.max_resets && a.reset_interval_ms == b.reset_interval_ms &&
         a.stall_timeout_ms == b.stall_timeout_ms;
}

}  // namespace

bool listenerChangeEndsConnections(const routing::ListenerSettings& before,
                                   const routing::ListenerSettings& after) {
  // Certificates are re-read on every reload (a new context each time): only TLS turned on or
  // off counts; a connection keeps the certificate it was shown, as after a rotation.
  return !(before.address == after.address) || (before.tls == nullptr) != (after.tls == nullptr) ||
         before.proxy_protocol != after.proxy_protocol || before.http2 != after.http2 ||
         !sameHttp2Limits(before.http2_limits, after.http2_limits);
}

}  // namespace sy::proxy
