#include "http/path_normalizer.h"

#include <vector>

namespace sy::http {
namespace {

constexpr std::string_view kHexDigits = "0123456789ABCDEF";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". Decoding these never changes meaning.
bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Anything that may need work; paths without any of these are already normal, and most
// requests take this early exit without allocating.
bool mayNeedWork(std::string_view path) {
  return path.find_first_of("%\\") != std::string_view::npos ||
         path.find("/.") != std::string_view::npos || path.find("//") != std::string_view::npos;
}

NormalizedPath invalid(std::string_view error) {
  NormalizedPath result;
  result.outcome = NormalizedPath::Outcome::kInvalid;
  result.error = error;
  return result;
}

// Percent-decodes unreserved characters and upper-cases the hex of the rest. Returns an error
// message, or an empty view when `out` holds the result.
std::string_view decodeUnreserved(std::string_view path, const PathOptions& options,
                                  std::string& out) {
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      // Not allowed in a URI at all (RFC 3986 §2); some backends read it as '/'.
      if (!options.allow_encoded_slash) return "backslash in the path";
      out.push_back(c);
      continue;
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= path.size()) return "malformed percent-encoding";
    const int high = hexValue(path[i + 1]);
    const int low = hexValue(path[i + 2]);
    if (high < 0 || low < 0) return "malformed percent-encoding";
    const auto byte = static_cast<unsigned char>(high * 16 + low);
    i += 2;
    if (byte == 0) return "encoded NUL in the path";
    if ((byte == '/' || byte == '\\') && !options.allow_encoded_slash) {
      return "encoded slash or backslash in the path";
    }
    if (isUnreserved(byte)) {
      out.push_back(static_cast<char>(byte));
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[byte >> 4]);
      out.push_back(kHexDigits[byte & 0xF]);
    }
  }
  return {};
}

// RFC 3986 §5.2.4 on an absolute path, segment by segment. Returns false when a ".." would
// climb above the root.
bool removeDotSegments(std::string_view path, bool merge_slashes, std::string& out) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  size_t start = 1;  // past the leading '/'
  while (true) {
    const size_t end = path.find('/', start);
    const bool last = end == std::string_view::npos;
    const std::string_view segment =
        path.substr(start, last ? std::string_view::npos : end - start);
    trailing_slash = false;
    if (segment == ".") {
      trailing_slash = true;
    } else if (segment == "..") {
      if (segments.empty()) return false;
      segments.pop_back();
      trailing_slash = true;
    } else if (segment.empty()) {
      if (last) {
        trailing_slash = true;
      } else if (!merge_slashes) {
        segments.push_back(segment);
      }
    } else {
      segments.push_back(segment);
    }
    if (last) break;
    start = end + 1;
  }
  out.clear();
  for (const std::string_view segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  if (trailing_slash || segments.empty()) out.push_back('/');
  return true;
}

}  // namespace

NormalizedPath normalizeRequestPath(std::string_view target, const PathOptions& options) {
  if (target.empty() || target.front() != '/') return {};
  const size_t path_end = target.find_first_of("?#");
  const std::string_view path = target.substr(0, path_end);
  const std::string_view rest =
      path_end == std::string_view::npos ? std::string_view() : target.substr(path_end);
  if (!mayNeedWork(path)) return {};

  std::string decoded;
  if (const std::string_view error = decodeUnreserved(path, options, decoded); !error.empty()) {
    return invalid(error);
  }
  std::string resolved;
  if (!removeDotSegments(decoded, options.merge_slashes, resolved)) {
    return invalid("the path climbs above the root");
  }
  NormalizedPath result;
  if (resolved != decoded) {
    result.outcome = NormalizedPath::Outcome::kResolved;
  } else if (decoded != path) {
    result.outcome = NormalizedPath::Outcome::kCanonicalized;
  } else {
    return result;
  }
  result.target = std::move(resolved);
  result.target.append(rest);
  return result;
}

}  // namespace sy::http
