#pragma once

#include <optional>
#include <string_view>

namespace sy::http {

// An absolute-form request target ("http://example.com:8080/a?b") split into its authority
// ("example.com:8080") and the origin-form the backend gets ("/a?b"; "/" when there is no path).
struct AbsoluteTarget {
  std::string_view authority;
  std::string_view origin_form;
};

// nullopt for origin-form ("/a"), asterisk-form ("*") and anything without "scheme://".
std::optional<AbsoluteTarget> splitAbsoluteForm(std::string_view target);

}  // namespace sy::http
