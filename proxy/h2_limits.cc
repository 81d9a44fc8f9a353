#include "proxy/h2_limits.h"

#include <algorithm>

namespace sy::proxy {
namespace {

// The largest frame payload a client sends unless we raise SETTINGS_MAX_FRAME_SIZE (we do not).
constexpr size_t kDefaultFramePayload = 16384;

}  // namespace

void applyHttp2Options(const routing::Http2Limits& limits, nghttp2_option* options) {
  // Request DATA is given back to the client's window only once its exchange took it
  // (H2Stream::deliverRequestData): a slow backend stops its stream, not the connection.
  nghttp2_option_set_no_auto_window_update(options, 1);
  // The responses' HPACK table (the client's SETTINGS_HEADER_TABLE_SIZE may lower it; the
  // requests' table follows our SETTINGS_HEADER_TABLE_SIZE). Its entries are heap copies of
  // response fields (date, content-type, ...) that an idle connection keeps: ~540 bytes with
  // malloc's overhead for the demo backend's three (massif). With 0 fields go out as literals
  // without indexing, as nginx sends them, but nghttp2 Huffman-codes each one on every
  // response: +1,800 instructions per h2c stream (callgrind), hence not the default.
  nghttp2_option_set_max_deflate_dynamic_table_size(options, limits.response_hpack_table_size);
  nghttp2_option_set_max_outbound_ack(options, kHttp2MaxOutboundAcks);
  nghttp2_option_set_max_settings(options, kHttp2MaxSettingsEntries);
  // A header block as large as the header list limit, in frames of the default size, plus
  // one: more CONTINUATION frames than that is a flood, whatever they carry.
  nghttp2_option_set_max_continuations(
      options,
      std::max(kHttp2MinContinuations, limits.max_header_list_size / kDefaultFramePayload + 1));
  // Resets are counted by Http2ResetCounter, which answers ENHANCE_YOUR_CALM and follows
  // http2_max_resets; nghttp2's own limiter (which answers INTERNAL_ERROR) is set out of its way.
  nghttp2_option_set_stream_reset_rate_limit(options, uint64_t{1} << 40, uint64_t{1} << 20);
  // nghttp2 keeps closed streams (a few hundred bytes each, up to the concurrent stream limit)
  // in case a client's RFC 7540 priority tree still refers to them. We do not schedule by that
  // tree, so they only cost memory: an idle connection would hold its last streams.
  nghttp2_option_set_no_closed_streams(options, 1);
}

std::vector<nghttp2_settings_entry> http2ServerSettings(const routing::Http2Limits& limits) {
  return {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_header_list_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits.hpack_table_size},
  };
}

uint32_t http2GoawayCodeForFatalError(int nghttp2_error) {
  switch (nghttp2_error) {
    case NGHTTP2_ERR_FLOODED:
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      return NGHTTP2_ENHANCE_YOUR_CALM;
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      return NGHTTP2_PROTOCOL_ERROR;
    default:
      return NGHTTP2_NO_ERROR;
  }
}

bool Http2ResetCounter::admit(uint64_t now_ms, uint32_t max_resets, uint64_t interval_ms) {
  if (count_ == 0 || now_ms - window_start_ms_ >= interval_ms) {
    window_start_ms_ = now_ms;
    count_ = 0;
  }
  return ++count_ <= max_resets;
}

}  // namespace sy::proxy
