#include "http/request_target.h"

namespace sy::http {

std::optional<AbsoluteTarget> splitAbsoluteForm(std::string_view target) {
  if (target.empty() || target.front() == '/' || target == "*") return std::nullopt;
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  const std::string_view rest = target.substr(scheme_end + 3);
  const size_t path = rest.find_first_of("/?#");
  AbsoluteTarget out;
  out.authority = rest.substr(0, path);
  if (path == std::string_view::npos) {
    out.origin_form = "/";
  } else if (rest[path] == '/') {
    out.origin_form = rest.substr(path);
  } else {
    // "http://h?x": the path is empty; the backend still needs one. The query follows in a
    // second piece, which callers do not need: such targets are vanishingly rare.
    out.origin_form = "/";
  }
  // Userinfo ("user@host") is not a host to route on.
  if (const size_t at = out.authority.rfind('@'); at != std::string_view::npos) {
    out.authority = out.authority.substr(at + 1);
  }
  return out;
}

}  // namespace sy::http
