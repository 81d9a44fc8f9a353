#include "proxy/h2_limits.h"

#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/proxy/nghttp2_field.h"

namespace sy::proxy {
namespace {

TEST(Http2ResetCounterTest, AdmitsTheCapPerIntervalAndStartsOverAfterIt) {
  Http2ResetCounter counter;
  EXPECT_TRUE(counter.admit(5000, 3, 1000));
  EXPECT_TRUE(counter.admit(5100, 3, 1000));
  EXPECT_TRUE(counter.admit(5999, 3, 1000));
  EXPECT_FALSE(counter.admit(5999, 3, 1000));  // the fourth within one interval
  EXPECT_TRUE(counter.admit(6000, 3, 1000));   // a new interval
  EXPECT_TRUE(counter.admit(6001, 3, 1000));
}

TEST(Http2LimitsTest, TheServerSettingsFollowTheLimits) {
  routing::Http2Limits limits;
  limits.max_concurrent_streams = 9;
  limits.max_header_list_size = 2048;
  limits.hpack_table_size = 0;
  const std::vector<nghttp2_settings_entry> settings = http2ServerSettings(limits);
  ASSERT_EQ(settings.size(), 3u);
  EXPECT_EQ(settings[0].settings_id, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  EXPECT_EQ(settings[0].value, 9u);
  EXPECT_EQ(settings[1].settings_id, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE);
  EXPECT_EQ(settings[1].value, 2048u);
  EXPECT_EQ(settings[2].settings_id, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE);
  EXPECT_EQ(settings[2].value, 0u);
}

// The HEADERS payload sizes of a server session made with applyHttp2Options(limits) answering
// `count` GETs from an nghttp2 client with the same response fields each time.
std::vector<size_t> http2ResponseHeaderSizes(const routing::Http2Limits& limits, int count) {
  struct Peers {
    nghttp2_session* server = nullptr;
    nghttp2_session* client = nullptr;
    std::vector<size_t> sizes;
  } peers;
  nghttp2_session_callbacks* callbacks = nullptr;
  EXPECT_EQ(nghttp2_session_callbacks_new(&callbacks), 0);
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      callbacks, [](nghttp2_session* session, const nghttp2_frame* frame, void* self) {
        auto* p = static_cast<Peers*>(self);
        if (session != p->server || frame->hd.type != NGHTTP2_HEADERS) return 0;
        static const std::pair<const char*, const char*> kFields[] = {
            {":status", "200"},
            {"content-type", "text/plain"},
            {"date", "Sun, 06 Dec 2026 16:52:31 GMT"},
            {"x-backend", "blue"}};
        std::vector<nghttp2_nv> fields;
        for (const auto& [name, value] : kFields) {
          fields.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                            reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name),
                            strlen(value), NGHTTP2_NV_FLAG_NONE});
        }
        return nghttp2_submit_response(session, frame->hd.stream_id, fields.data(), fields.size(),
                                       nullptr);
      });
  nghttp2_session_callbacks_set_on_frame_send_callback(
      callbacks, [](nghttp2_session* session, const nghttp2_frame* frame, void* self) {
        auto* p = static_cast<Peers*>(self);
        if (session == p->server && frame->hd.type == NGHTTP2_HEADERS) {
          p->sizes.push_back(frame->hd.length);
        }
        return 0;
      });
  nghttp2_option* options = nullptr;
  EXPECT_EQ(nghttp2_option_new(&options), 0);
  applyHttp2Options(limits, options);
  EXPECT_EQ(nghttp2_session_server_new2(&peers.server, callbacks, &peers, options), 0);
  EXPECT_EQ(nghttp2_session_client_new(&peers.client, callbacks, &peers), 0);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);
  const std::vector<nghttp2_settings_entry> settings = http2ServerSettings(limits);
  EXPECT_EQ(
      nghttp2_submit_settings(peers.server, NGHTTP2_FLAG_NONE, settings.data(), settings.size()),
      0);
  EXPECT_EQ(nghttp2_submit_settings(peers.client, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  const auto pump = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto [from, to] :
           {std::pair(peers.client, peers.server), std::pair(peers.server, peers.client)}) {
        const uint8_t* data = nullptr;
        for (ssize_t length; (length = nghttp2_session_mem_send(from, &data)) > 0;) {
          EXPECT_EQ(nghttp2_session_mem_recv(to, data, static_cast<size_t>(length)), length);
          moved = true;
        }
      }
    }
  };
  for (int i = 0; i < count; ++i) {
    const nghttp2_nv request[] = {
        nghttp2Field(":method", "GET"),
        nghttp2Field(":scheme", "http"),
        nghttp2Field(":path", "/"),
        nghttp2Field(":authority", "example"),
    };
    EXPECT_GT(nghttp2_submit_request(peers.client, nullptr, request, 4, nullptr, nullptr), 0);
    pump();
  }
  nghttp2_session_del(peers.server);
  nghttp2_session_del(peers.client);
  return peers.sizes;
}

TEST(Http2LimitsTest, ResponsesAreNotIndexedUnlessTheResponseTableIsSet) {
  routing::Http2Limits limits;
  limits.response_hpack_table_size = 0;
  const std::vector<size_t> literal = http2ResponseHeaderSizes(limits, 3);
  ASSERT_EQ(literal.size(), 3u);
  // The same block each time (the first one also tells the client the table is 0: one byte).
  EXPECT_EQ(literal[1], literal[2]);
  EXPECT_LE(literal[0], literal[1] + 1);
  limits.response_hpack_table_size = 4096;
  const std::vector<size_t> indexed = http2ResponseHeaderSizes(limits, 3);
  ASSERT_EQ(indexed.size(), 3u);
  EXPECT_LT(indexed[1], indexed[0]);  // indexes into the table from the second response on
  EXPECT_EQ(indexed[1], indexed[2]);
  std::printf("HEADERS payload bytes: table 0: %zu, %zu; table 4096: %zu, %zu\n", literal[0],
              literal[1], indexed[0], indexed[1]);
}

TEST(Http2LimitsTest, FatalErrorsNghttp2DoesNotAnswerGetAGoawayCode) {
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_FLOODED), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_TOO_MANY_CONTINUATIONS),
            NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_BAD_CLIENT_MAGIC), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_NOMEM), NGHTTP2_NO_ERROR);
}

}  // namespace
}  // namespace sy::proxy
