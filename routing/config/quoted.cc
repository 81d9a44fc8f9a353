#include "routing/config/quoted.h"

#include "absl/strings/str_format.h"

namespace sy::routing::config {
namespace {

void appendEscaped(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7f) {
    absl::StrAppendFormat(&out, "\\x%02x", byte);
  } else {
    out += c;
  }
}

}  // namespace

std::string inQuotes(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    appendEscaped(out, c);
  }
  out += '"';
  return out;
}

std::string escapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) appendEscaped(out, c);
  return out;
}

}  // namespace sy::routing::config
