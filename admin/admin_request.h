#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sy::admin {

// An admin request reduced to what the API looks at.
struct AdminRequest {
  std::string method;
  std::string path;                          // without the query
  std::string target;                        // as sent: path and query
  std::map<std::string, std::string> query;  // percent-decoded; a repeated name keeps the last
  std::string authorization;                 // the Authorization header, if any
  std::string body;                          // up to AdminServer::kMaxBodyBytes
  std::string peer;                          // the client's address, for the change history
  // What browsers say about where a request comes from (admin/admin_origin.h).
  std::string host;              // the Host header ("" when absent)
  std::string origin;            // the Origin header
  bool has_origin = false;       // an Origin header was sent (even an empty one)
  std::string sec_fetch_site;    // the Sec-Fetch-Site header, lower case
  bool malformed_query = false;  // bad percent-encoding

  std::optional<std::string> param(std::string_view name) const;
};

// Decodes %XX escapes; with `plus_is_space` (query strings) also "+" -> " ". False on a
// malformed escape.
bool percentDecode(std::string_view in, std::string* out, bool plus_is_space);

// Splits "/admin/switch?to=green&route=web" into path and parameters.
AdminRequest parseAdminTarget(std::string_view method, std::string_view target);

}  // namespace sy::admin
