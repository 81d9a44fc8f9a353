#pragma once

// nginx value syntaxes (times, sizes, listen and server addresses, variables) turned into the
// forms Switchyard's configuration takes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::importer {

// nginx time ("30s", "1m30s", "500ms", "2h", "90": seconds without a unit; also d, w, M, y),
// in milliseconds; nullopt when it is not one.
std::optional<int64_t> parseNginxTime(std::string_view text);
// Milliseconds as a Switchyard duration: "30s", "1500ms", "2m".
std::string switchyardDuration(int64_t ms);
// nginx size ("1m", "512k", "1g", "100"), in bytes.
std::optional<uint64_t> parseNginxSize(std::string_view text);

// `listen` address part ("80", "127.0.0.1:8080", "*:80", "[::]:80", "localhost") as a
// Switchyard address; nullopt for what it cannot be (a unix: socket).
std::optional<std::string> listenAddress(std::string_view text);
// An upstream `server` address or proxy_pass host ("app:8080", "10.0.0.1", "[::1]:81") with
// nginx's default port (80) filled in; nullopt for unix: sockets.
std::optional<std::string> backendAddress(std::string_view text, int default_port = 80);

// A valid Switchyard name (letters, digits, _ . -) made from `text`: others become '-'.
std::string switchyardName(std::string_view text);
// ASCII lower case: nginx directive and header names compare case-insensitively.
std::string asciiLower(std::string text);

// A request attribute named by an nginx variable, as Switchyard writes it in `hash_key` and
// `sticky`: $http_x_user_id -> "header:x-user-id", $cookie_session -> "cookie:session",
// $remote_addr and $binary_remote_addr -> "client_ip". `variable` is without the '$' and
// braces. nullopt for anything else ($request_uri, $arg_...).
std::optional<std::string> requestKeyOfVariable(std::string_view variable);

// The first variable name in `text` ("${remote_addr}AAA" -> "remote_addr"), empty if none.
std::string firstVariable(std::string_view text);

}  // namespace sy::importer
