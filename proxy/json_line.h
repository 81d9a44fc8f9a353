#pragma once

// A minimal JSON writer for log lines: fixed order, no tree, no allocation beyond the line.
// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become the five characters
// \\xNN (decoding to the text "\xNN", as nginx's log escaping shows them), so a line is always
// valid JSON and no byte of a hostile request target is lost or replaced.

#include <cstdint>
#include <string>
#include <string_view>

namespace sy::proxy {

// Appends `text` as a JSON string, quotes included.
void appendJsonString(std::string* out, std::string_view text);
// Appends a JSON string, or null when `text` is empty.
void appendJsonStringOrNull(std::string* out, std::string_view text);
void appendJsonUnsigned(std::string* out, uint64_t value);
// Milliseconds with three decimals ("12.345"); null when negative (not measured).
void appendJsonMillis(std::string* out, double ms);

}  // namespace sy::proxy
