// The access log's hand-written JSON encoder: every line is valid JSON that decodes to what was
// logged, invalid UTF-8 is kept as \xNN text, and the fields come in the configured order.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proxy/access_log.h"
#include "proxy/json_line.h"

namespace sy::proxy {
namespace {

using routing::config::AccessLogField;

std::string encodedString(std::string_view text) {
  std::string out;
  appendJsonString(&out, text);
  return out;
}

// What a JSON parser reads back from the encoding of `text`.
std::string decoded(std::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(encodedString(text));
  return json.get<std::string>();
}

TEST(AccessLogEncodingTest, EscapesPerJson) {
  EXPECT_EQ(encodedString("plain /a?b=1"), "\"plain /a?b=1\"");
  EXPECT_EQ(encodedString("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(encodedString("a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
  EXPECT_EQ(encodedString(std::string("\x01\x1f\0", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(encodedString("\x7f"), "\"\x7f\"");  // DEL is legal in a JSON string
  for (const char* text : {"", "q\"b\\", "a\nb", "\x01", "/caf\xc3\xa9", "\xe2\x82\xac",
                           "\xf0\x9f\x98\x80 emoji", "\xef\xbf\xbf"}) {
    EXPECT_EQ(decoded(text), text) << "round trip of valid UTF-8";
  }
}

TEST(AccessLogEncodingTest, InvalidUtf8IsKeptAsHexText) {
  // Each byte that is not part of a valid sequence becomes the text \xNN.
  EXPECT_EQ(decoded("a\xff"
                    "b"),
            "a\\xffb");
  EXPECT_EQ(decoded("\xc3"), "\\xc3");                             // truncated sequence
  EXPECT_EQ(decoded("\xc3("), "\\xc3(");                           // bad continuation
  EXPECT_EQ(decoded("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(decoded("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong, 3 bytes
  EXPECT_EQ(decoded("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(decoded("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(decoded("\x80\xc3\xa9"), "\\x80\xc3\xa9");             // valid after invalid survives
  // Every byte value, alone: always valid JSON.
  for (int c = 0; c < 256; ++c) {
    const std::string text(1, static_cast<char>(c));
    EXPECT_TRUE(nlohmann::json::accept(encodedString(text))) << c;
  }
}

TEST(AccessLogEncodingTest, Numbers) {
  std::string out;
  appendJsonMillis(&out, 12.3456);
  out.push_back(' ');
  appendJsonMillis(&out, 0);
  out.push_back(' ');
  appendJsonMillis(&out, -1);
  out.push_back(' ');
  appendJsonUnsigned(&out, 18446744073709551615ull);
  EXPECT_EQ(out, "12.346 0.000 null 18446744073709551615");
}

AccessLogRecord sampleRecord() {
  AccessLogRecord r;
  r.client = "127.0.0.1";
  r.method = "GET";
  r.target = "/a?\"x\"\xff";
  r.host = "example.test";
  r.protocol = "HTTP/1.1";
  r.user_agent = "curl/8";
  r.request_id = "0123456789abcdef0123456789abcdef";
  r.status = 200;
  r.bytes_in = 78;
  r.bytes_out = 1234;
  r.duration_ms = 1.5;
  r.route = "api";
  r.pool = "blue";
  r.backend = "127.0.0.1:9001";
  r.upstream_ms = 1.25;
  r.upstream_connect_ms = 0;
  r.upstream_header_ms = 1.0;
  return r;
}

TEST(AccessLogEncodingTest, DefaultLineHasTheDocumentedKeysInOrder) {
  const std::string line = AccessLogWriter::formatLine(sampleRecord(), "2026-01-02T03:04:05.678Z");
  const nlohmann::ordered_json json = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ::testing::ElementsAre("time", "client", "method", "path", "status", "bytes_in",
                                           "bytes_out", "duration_ms", "route", "pool", "backend",
                                           "upstream_ms", "retries", "mirrored", "limited_by",
                                           "tls", "reason", "request_id"));
  EXPECT_EQ(json["path"], "/a?\"x\"\\xff");
  EXPECT_EQ(json["duration_ms"], 1.5);
  EXPECT_TRUE(json["tls"].is_null());
  EXPECT_TRUE(json["limited_by"].is_null());
  EXPECT_EQ(json["request_id"], "0123456789abcdef0123456789abcdef");
}

TEST(AccessLogEncodingTest, ChosenFieldsInTheirOrder) {
  AccessLogRecord record = sampleRecord();
  record.tls = tls::TlsDetails{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "http/1.1", "a.test", true};
  const AccessLogField fields[] = {
      AccessLogField::kStatus,         AccessLogField::kHost,
      AccessLogField::kClientIp,       AccessLogField::kUserAgent,
      AccessLogField::kReferer,        AccessLogField::kProtocol,
      AccessLogField::kTlsVersion,     AccessLogField::kTlsResumed,
      AccessLogField::kRequestId,      AccessLogField::kUpstreamConnectMs,
      AccessLogField::kUpstreamTotalMs};
  std::string line;
  AccessLogWriter::formatLine(record, fields, "t", &line);
  EXPECT_EQ(line,
            "{\"status\":200,\"host\":\"example.test\",\"client_ip\":\"127.0.0.1\","
            "\"user_agent\":\"curl/8\",\"referer\":null,\"protocol\":\"HTTP/1.1\","
            "\"tls_version\":\"TLSv1.3\",\"tls_resumed\":true,"
            "\"request_id\":\"0123456789abcdef0123456789abcdef\","
            "\"upstream_connect_ms\":0.000,\"upstream_total_ms\":null}");
  EXPECT_TRUE(nlohmann::json::accept(line));
}

}  // namespace
}  // namespace sy::proxy
