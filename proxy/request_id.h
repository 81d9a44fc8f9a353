#pragma once

// Request identity (request_id, request_id_mode): ids generated per request, and W3C Trace
// Context's traceparent accepted as their source.

#include <cstddef>
#include <optional>
#include <string_view>

namespace sy::proxy {

inline constexpr size_t kGeneratedRequestIdLength = 32;

// Writes 32 lowercase hex digits (128 random bits) to `out`. The generator is per thread (one
// per worker), seeded from the OS once: no lock, no system call per request.
void generateRequestId(char (&out)[kGeneratedRequestIdLength]);

// The trace-id of a valid traceparent header (W3C Trace Context, §3.2): 32 lowercase hex digits,
// not all zero; nullopt for anything malformed (which is then ignored, as the spec asks).
std::optional<std::string_view> traceIdOf(std::string_view traceparent);

}  // namespace sy::proxy
