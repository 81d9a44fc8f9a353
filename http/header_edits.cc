#include "http/header_edits.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "http/message_writer.h"

namespace sy::http {

bool HeaderEdits::drops(std::string_view name) const {
  for (const std::string& dropped : drop) {
    if (core::equalsIgnoreCase(dropped, name)) return true;
  }
  return false;
}

void HeaderEdits::appendLines(const TemplateValues& values, std::string* out) const {
  for (const HeaderLine& line : lines) {
    const size_t start = out->size();
    out->append(line.name).append(": ");
    const size_t value_start = out->size();
    line.value.expandTo(values, out);
    if (out->size() == value_start) {
      out->resize(start);
      continue;
    }
    out->append("\r\n");
  }
}

absl::Status checkEditableHeader(std::string_view name, HeaderDirection direction, HeaderOp op) {
  using core::equalsIgnoreCase;
  const auto refuse = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(core::toAbsl(name), " cannot be ",
                                                   op == HeaderOp::kRemove ? "removed"
                                                   : op == HeaderOp::kSet  ? "set"
                                                                           : "added",
                                                   ": ", core::toAbsl(why)));
  };
  if (isHopByHopHeader(name) || equalsIgnoreCase(name, "content-length")) {
    return refuse("it is a hop-by-hop or framing header, which the proxy writes itself");
  }
  if (equalsIgnoreCase(name, "host")) {
    if (direction == HeaderDirection::kResponse) return refuse("a response has no Host");
    if (op != HeaderOp::kSet) return refuse("a request has exactly one Host; use set");
  }
  return absl::OkStatus();
}

}  // namespace sy::http
