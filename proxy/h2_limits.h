#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <vector>

#include "routing/snapshot.h"

namespace sy::proxy {

// A listener's HTTP/2 limits (the http2_* keys, conf/REFERENCE.md "HTTP/2 limits") as nghttp2
// options and server SETTINGS, and the one defence nghttp2 does not answer the way we want:
// the count of client resets (rapid reset).
//
// What nghttp2 enforces from these: the concurrent stream limit (REFUSED_STREAM for streams
// beyond it before the client acknowledged the SETTINGS, a connection error after), the HPACK
// table sizes, CONTINUATION frames per header block, SETTINGS entries per frame and queued
// SETTINGS/PING acknowledgements (floods), frames larger than SETTINGS_MAX_FRAME_SIZE and
// content-length against DATA. The header list size is advertised by nghttp2 but enforced by
// H2Connection (nghttp2 only advertises it).

// SETTINGS and PING acknowledgements nghttp2 may hold unsent before it calls the client a
// flood (nghttp2's own default, stated here so it does not change under us).
inline constexpr size_t kHttp2MaxOutboundAcks = 1000;
// Entries in one SETTINGS frame (there are 7 standard settings; nghttp2's default).
inline constexpr size_t kHttp2MaxSettingsEntries = 32;
// CONTINUATION frames after one HEADERS (CVE-2024-27316) when the header list limit fits in
// fewer: nghttp2's default.
inline constexpr size_t kHttp2MinContinuations = 8;

// Sets `options` for a server session of a listener with `limits`.
void applyHttp2Options(const routing::Http2Limits& limits, nghttp2_option* options);
// The server's SETTINGS frame.
std::vector<nghttp2_settings_entry> http2ServerSettings(const routing::Http2Limits& limits);
// The GOAWAY code for an error nghttp2_session_mem_recv returned that nghttp2 does not answer
// with a GOAWAY of its own (it only gives up); 0 (NO_ERROR) for the others.
uint32_t http2GoawayCodeForFatalError(int nghttp2_error);

// Client RST_STREAM frames in fixed windows of `interval_ms`: more than `max_resets` in one is
// rapid reset (CVE-2023-44487), and the connection ends with GOAWAY ENHANCE_YOUR_CALM. The
// limits are the caller's (every HTTP/2 connection has one counter: it does not copy them).
class Http2ResetCounter {
 public:
  // Counts one reset at `now_ms`; false once more than max_resets came in one interval.
  bool admit(uint64_t now_ms, uint32_t max_resets, uint64_t interval_ms);

 private:
  uint64_t window_start_ms_ = 0;
  uint32_t count_ = 0;
};

}  // namespace sy::proxy
