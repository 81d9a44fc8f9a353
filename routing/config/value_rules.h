#pragma once

// Rules for string values that have a syntax of their own. They know nothing about TOML, so they
// can be tested directly; each returns the value to store (normalised where the rule says so) or
// an InvalidArgument status whose message says what was expected.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "routing/config/model.h"

namespace sy::routing::config {

// Names of listeners, pools and routes: [A-Za-z0-9_.-]+. They appear in metrics labels, logs and
// admin API paths, which is why the alphabet is so small.
absl::StatusOr<std::string> checkName(std::string_view text);

// "example.com", "*.example.com" (any subdomain, not the bare domain) or "*"; lower-cased.
absl::StatusOr<std::string> normalizeHostPattern(std::string_view text);
// A route's `sni` entry: a DNS name or "*." + one, lower-cased ("*" alone is refused: a route
// for every TLS client needs no sni).
absl::StatusOr<std::string> normalizeSniPattern(std::string_view text);

// A path prefix must start with '/': it is compared with the request path, which always does.
absl::StatusOr<std::string> checkPathPrefix(std::string_view text);

// A route's path_prefix: checkPathPrefix, and in the normal form requests are routed in
// (http/path_normalizer.h), without query, or it could never match.
absl::StatusOr<std::string> checkRoutePathPrefix(std::string_view text);

// The name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), or "" for none. Catches the
// secret itself pasted where its variable name belongs.
absl::StatusOr<std::string> checkEnvName(std::string_view text);

// An HTTP field name (a token: letters, digits and !#$%&'*+-.^_`|~), kept as written.
absl::StatusOr<std::string> checkHeaderName(std::string_view text);

// What a mirror appends to the Host name: letters, digits, '-' and '.', or "" for none (it is
// written into the copy's head).
absl::StatusOr<std::string> checkHostSuffix(std::string_view text);

// An HTTP method token in upper case: GET, HEAD, OPTIONS...
absl::StatusOr<std::string> checkMethod(std::string_view text);

// "200-399" or "204": an inclusive range of statuses within 100..599.
absl::StatusOr<std::pair<int, int>> parseStatusRange(std::string_view text);

// "-" (standard output) or a file path, not empty.
absl::StatusOr<std::string> checkLogPath(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32" or one address ("192.0.2.7", stored as "192.0.2.7/32"). Host
// bits beyond the prefix are an error ("10.0.0.1/8"), not silently masked.
absl::StatusOr<std::string> normalizeCidr(std::string_view text);

// A name server: "IP:port" or "IP" (port 53), stored as "IP:port" ("[v6]:port").
absl::StatusOr<std::string> normalizeDnsServer(std::string_view text);

// A DNS name as a backend host: letters, digits, '-', '_' and '.', not an IP literal.
absl::StatusOr<std::string> checkDnsName(std::string_view text);

// "header:NAME" (NAME lower-cased), "cookie:NAME" or "client_ip".
absl::StatusOr<HashKeyConfig> parseHashKey(std::string_view text);

}  // namespace sy::routing::config

namespace sy::routing::config {

// A size in bytes: "1048576", "512B", "64KiB", "1MiB", "2GiB" (powers of 1024), "10kB", "5MB",
// "1GB" (powers of 1000), or nginx's "64k", "1m", "1g" (powers of 1024). At most 1 TiB.
absl::StatusOr<uint64_t> parseByteSize(std::string_view text);

// The request_id key: a header name, or "" for none; framing and hop-by-hop names are refused.
absl::StatusOr<std::string> checkRequestIdHeader(std::string_view text);

// A request id header value taken from a client: 1 to 200 visible ASCII characters (anything
// else is replaced by a generated id, never forwarded or logged as sent).
bool acceptableRequestId(std::string_view value);

}  // namespace sy::routing::config
