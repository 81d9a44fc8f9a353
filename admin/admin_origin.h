#pragma once

// Browser-facing defences of the admin listener (the console makes it a web origin):
// - DNS rebinding: a page of attacker.example whose name is made to resolve to 127.0.0.1 reaches
//   the admin API as "same-origin" in the browser's eyes, but its requests carry
//   `Host: attacker.example`. Only IP literals, "localhost" and the names the operator lists
//   (admin.allowed_hosts) are accepted.
// - Cross-site request forgery: a page on another origin can send a POST (a form, fetch with
//   mode no-cors) to 127.0.0.1 without reading the answer; the change would still happen.
//   Browsers say where a request comes from (Origin, Sec-Fetch-Site): a change is refused when
//   it comes from anywhere but the admin listener's own origin.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_request.h"

namespace sy::admin {

// The host of a Host header value without its port: "[::1]:9901" -> "::1", "a.b:80" -> "a.b".
std::string_view hostWithoutPort(std::string_view host);

// Whether `host` (a Host header value, possibly with a port) names the admin listener: an IP
// literal, "localhost", or one of `allowed` (case-insensitive; "*" allows any). An absent Host
// (HTTP/1.0 tools) is accepted: browsers always send one.
bool adminHostAllowed(std::string_view host, const std::vector<std::string>& allowed);

// Why a state-changing `request` must be refused as cross-origin, or nothing when it may go on:
// Sec-Fetch-Site cross-site or same-site, or an Origin other than the listener's own (the
// scheme and the Host the request was sent to; "null" included).
std::optional<std::string> crossOriginRefusal(const AdminRequest& request);

}  // namespace sy::admin
