#pragma once

// Header fields for the unit tests that drive real nghttp2 sessions in memory.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string_view>

namespace sy::proxy {

// One field for nghttp2_submit_request/response; nghttp2 copies the bytes during the call.
inline nghttp2_nv nghttp2Field(std::string_view name, std::string_view value) {
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace sy::proxy
