#pragma once

#include <string>
#include <string_view>

namespace sy::routing::config {

// `text` in double quotes with quotes, backslashes and control characters escaped, so that a value
// shown in an error message cannot be confused with the message around it.
std::string quoted(std::string_view text);

}  // namespace sy::routing::config
