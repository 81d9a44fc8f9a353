#pragma once

// The configuration of the request shaping tests: the same routes over HTTP/1.1
// (tests/integration/request_shaping_test.cc) and over HTTP/2 (Http2ShapingTest in
// tests/integration/http2_test.cc), so that both protocols are held to the same route headers,
// prefix changes, rewrites, redirects and answers.
//
//   headers      /echo   request and response header rules with variables
//   api          /api/   strip_prefix "/api"
//   versioned    /ver/   strip_prefix "/ver", add_prefix "/status"
//   old          /old/   rewrite "^/old/(\w+)/(.*)$" -> "/\2"
//   moved        /moved/ redirect 308 to {scheme}://new.example{path}, with a response header
//   temporary    /tmp/   redirect (302) to https://{host}/elsewhere?from={path}
//   maintenance  /down/  respond 503 "back soon\n"
//   gone         /gone   respond 410
//   default      the rest, to the pool

#include <cstdint>
#include <string>
#include <string_view>

namespace sy::testing {

// `head` ([server], [access_log], [[listeners]]), then the pool "app" with the demo backend on
// 127.0.0.1:`backend_port`, then the routes above.
std::string shapingConfig(std::string_view head, uint16_t backend_port);

}  // namespace sy::testing
