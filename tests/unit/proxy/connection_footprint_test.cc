// What an idle keep-alive client connection costs. The exchange (ProxySession) and the request
// parser exist only while a request is in flight; the connection object itself is what every
// idle connection pays (bench/RESULTS.md, "Idle connections"). This fails when per-request
// state creeps back into it.

#include <cstddef>

#include "gtest/gtest.h"
#include "proxy/downstream_connection.h"
#include "proxy/proxy_session.h"

namespace sy::proxy {
namespace {

TEST(ConnectionFootprintTest, AnIdleConnectionHoldsNoExchangeState) {
  // 600 bytes on x86-64 Linux when written, 248 of them libuv's TCP handle; the margin leaves
  // room for a few flags, not for an exchange (ProxySession) or a parser.
  EXPECT_LE(sizeof(DownstreamConnection), 640u);
  EXPECT_GT(sizeof(ProxySession) + sizeof(http::Http1Parser), 640u - sizeof(uv_tcp_t));
}

}  // namespace
}  // namespace sy::proxy
