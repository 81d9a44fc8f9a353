#pragma once

#include <string>
#include <string_view>

namespace sy::routing::config {

// `text` in double quotes with quotes, backslashes and control characters escaped, so that a value
// shown in an error message cannot be confused with the message around it. (Not named `quoted`:
// argument-dependent lookup would pick std::quoted for a std::string wherever <iomanip> is seen.)
std::string inQuotes(std::string_view text);

// `text` with control characters (CR and LF included) written as \xNN and nothing else changed:
// for text from elsewhere (toml++'s descriptions quote the offending input raw) that goes into an
// error message, which must stay on one line ("file:line:col: message", one per line).
std::string escapeControls(std::string_view text);

}  // namespace sy::routing::config
