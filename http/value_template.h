#pragma once

// Header values and redirect locations with variables ("https://{host}{path}"), compiled once
// when the configuration is loaded into literal pieces and variable slots, so that expanding one
// per request is a few appends and no parsing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sy::http {

enum class TemplateVariable : uint8_t {
  kClientIp,   // {client_ip}: the client's address (after PROXY protocol / trusted proxies)
  kScheme,     // {scheme}: "http" or "https", as the client connected
  kHost,       // {host}: the request's host without port (nginx's $host)
  kPath,       // {path}: the request target as received, path and query (nginx's $request_uri)
  kRoute,      // {route}: the route's name
  kPool,       // {pool}: the pool chosen for the request ("" when answered locally)
  kBackend,    // {backend}: the backend's address (response headers only)
  kRequestId,  // {request_id}: the request's X-Request-ID header ("" without one)
};

// The values of one request, borrowed for the duration of an expansion.
struct TemplateValues {
  std::string_view client_ip;
  std::string_view scheme;
  std::string_view host;
  std::string_view path;
  std::string_view route;
  std::string_view pool;
  std::string_view backend;
  std::string_view request_id;

  std::string_view get(TemplateVariable variable) const;
};

class ValueTemplate {
 public:
  // "{name}" is a variable (the names above); "{{" and "}}" stand for literal braces; any other
  // '{' and unknown names are errors. CR, LF and NUL are refused: the result goes into a head.
  static absl::StatusOr<ValueTemplate> compile(std::string_view text);

  // Appends the value for `values` to `out`.
  void expandTo(const TemplateValues& values, std::string* out) const;
  std::string expand(const TemplateValues& values) const;
  bool uses(TemplateVariable variable) const;

 private:
  struct Piece {
    std::string literal;  // used when `variable` is -1
    int variable = -1;    // a TemplateVariable, or -1 for a literal
  };
  std::vector<Piece> pieces_;
};

}  // namespace sy::http
