#include "proxy/h2_limits.h"

#include "gtest/gtest.h"

namespace sy::proxy {
namespace {

TEST(Http2ResetCounterTest, AdmitsTheCapPerIntervalAndStartsOverAfterIt) {
  Http2ResetCounter counter(3, 1000);
  EXPECT_TRUE(counter.admit(5000));
  EXPECT_TRUE(counter.admit(5100));
  EXPECT_TRUE(counter.admit(5999));
  EXPECT_FALSE(counter.admit(5999));  // the fourth within one interval
  EXPECT_TRUE(counter.admit(6000));   // a new interval
  EXPECT_TRUE(counter.admit(6001));
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

TEST(Http2LimitsTest, FatalErrorsNghttp2DoesNotAnswerGetAGoawayCode) {
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_FLOODED), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_TOO_MANY_CONTINUATIONS),
            NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_BAD_CLIENT_MAGIC), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_EQ(http2GoawayCodeForFatalError(NGHTTP2_ERR_NOMEM), NGHTTP2_NO_ERROR);
}

}  // namespace
}  // namespace sy::proxy
