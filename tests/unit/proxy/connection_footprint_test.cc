// What an idle keep-alive client connection costs. The exchange (ProxySession) and the request
// parser exist only while a request is in flight; the connection object itself is what every
// idle connection pays (bench/RESULTS.md, "Idle memory"). This fails when per-request
// state creeps back into it.

#include <cstddef>

#include "gtest/gtest.h"
#include "proxy/downstream_connection.h"
#include "proxy/proxy_session.h"

namespace sy::proxy {
namespace {

TEST(ConnectionFootprintTest, AnIdleConnectionHoldsNoExchangeState) {
  // 376 bytes on x86-64 Linux (a 384-byte malloc chunk), 160 of them libuv's poll handle (464
  // with a uv_tcp_t, 248 bytes, under the transport; 544 before the request's parser callbacks,
  // start time and client IP text moved into the per-request block, and 664 before the write
  // buffers and the pipelined input moved out). The TLS state, the unwritten bytes of
  // the TCP transport, pipelined input, the PROXY header and HTTP/2 state sit behind pointers
  // allocated only while used. No margin: 8 more bytes take the object into the next malloc
  // chunk (400 bytes), which every idle connection pays.
  constexpr size_t kBound = 376;
  EXPECT_LE(sizeof(DownstreamConnection), kBound);
  EXPECT_GT(sizeof(ProxySession) + sizeof(http::Http1Parser), kBound - sizeof(uv_poll_t));
}

}  // namespace
}  // namespace sy::proxy
