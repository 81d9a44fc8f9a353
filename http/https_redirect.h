#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::http {

// The Location of a plain listener's redirect to HTTPS (redirect_to_https): "https://" + the
// host of `host` (a Host header or an absolute-form authority) without its port + ":port" when
// `https_port` is not 443 + `target` (origin-form; the asterisk-form "*" becomes "/").
// nullopt when `host` is empty or not a host name, IPv4 or bracketed IPv6 address with an
// optional numeric port: the redirect cannot be built and the request is refused (400), rather
// than echoing arbitrary bytes into a header.
std::optional<std::string> httpsLocation(std::string_view host, std::string_view target,
                                         uint16_t https_port);

}  // namespace sy::http
