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
  // 544 bytes on x86-64 Linux, 248 of them libuv's TCP handle. The TLS state, the unwritten
  // bytes of the TCP transport (with their uv_write) and pipelined input sit behind pointers
  // allocated only while used, so an idle plain connection pays 8 bytes for each (664 bytes in
  // all before the write buffers and the pipelined input moved out). The margin leaves room for
  // a flag or two, not for an exchange (ProxySession), a parser or the TLS state.
  constexpr size_t kBound = 560;
  EXPECT_LE(sizeof(DownstreamConnection), kBound);
  EXPECT_GT(sizeof(ProxySession) + sizeof(http::Http1Parser), kBound - sizeof(uv_tcp_t));
}

}  // namespace
}  // namespace sy::proxy
