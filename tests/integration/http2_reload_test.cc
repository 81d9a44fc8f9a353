// Reloads that change or remove a listener end its connections gracefully (issue 19): HTTP/2
// ones get GOAWAY with the last stream begun and finish their streams in flight, HTTP/1.1
// keep-alive ones close when idle or after the response in progress (Connection: close). New
// connections get the new settings. Client: nghttp (Debian nghttp2-client); python3-h2 treats a
// GOAWAY as the end of the connection and drops the streams that are still answered after it.

#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool h2ReloadNghttpPresent() { return access("/usr/bin/nghttp", X_OK) == 0; }

std::string h2ReloadConfig(uint16_t backend, const std::string& listener_extra) {
  return absl::StrCat("[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\n",
                      "listen = \"127.0.0.1:0\"\n", listener_extra,
                      "\n\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:", backend,
                      "\"]\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
}

class Http2ReloadTest : public ProxyTest {
 protected:
  void reloadTo(const std::string& toml) {
    absl::StatusOr<nlohmann::json> event = proxy_.reload(toml);
    ASSERT_TRUE(event.ok()) << event.status();
    ASSERT_EQ((*event)["event"], "config_reloaded") << event->dump();
  }
};

TEST_F(Http2ReloadTest, ChangedHttp2SettingsSendGoawayAndTheStreamInFlightFinishes) {
  if (!h2ReloadNghttpPresent()) GTEST_SKIP() << "nghttp (nghttp2-client) is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2ReloadConfig(backendPort(0), "http2 = true")));
  const std::string base = absl::StrCat("http://127.0.0.1:", port());
  auto in_flight = ChildProcess::start({"nghttp", "-n", "-v", base + "/delay/1500"});
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  // The stream has reached the backend: then the listener's HTTP/2 limits change.
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests == 1; }, std::chrono::seconds(10)));
  ASSERT_NO_FATAL_FAILURE(
      reloadTo(h2ReloadConfig(backendPort(0), "http2 = true\nhttp2_max_concurrent_streams = 64")));

  EXPECT_EQ((*in_flight)->waitExit(std::chrono::seconds(15)), 0) << (*in_flight)->output();
  const std::string output = (*in_flight)->output();
  EXPECT_THAT(output, HasSubstr(":status: 200"));
  // GOAWAY names the stream in flight as the last one served, without an error (nghttp 1.52
  // opens its request as stream 13, after its priority placeholders; newer ones as stream 1).
  const std::string::size_type headers = output.find("send HEADERS frame <");
  ASSERT_NE(headers, std::string::npos) << output;
  const std::string::size_type id_at = output.find("stream_id=", headers);
  const std::string stream_id = output.substr(id_at + 10, output.find('>', id_at) - id_at - 10);
  EXPECT_THAT(output, HasSubstr("recv GOAWAY"));
  EXPECT_THAT(output,
              HasSubstr(absl::StrCat("(last_stream_id=", stream_id, ", error_code=NO_ERROR")));

  // A new connection is served and announces the new limit.
  auto fresh = ChildProcess::start({"nghttp", "-v", base + "/"});
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)->waitExit(std::chrono::seconds(15)), 0) << (*fresh)->output();
  EXPECT_THAT((*fresh)->output(), HasSubstr("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):64"));
  EXPECT_THAT((*fresh)->output(), HasSubstr(":status: 200"));
  EXPECT_THAT((*fresh)->output(), Not(HasSubstr("recv GOAWAY")));
}

TEST_F(Http2ReloadTest, AReloadThatChangesNothingOfTheListenerKeepsHttp2Connections) {
  if (!h2ReloadNghttpPresent()) GTEST_SKIP() << "nghttp (nghttp2-client) is not installed";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2ReloadConfig(backendPort(0), "http2 = true")));
  auto in_flight = ChildProcess::start(
      {"nghttp", "-n", "-v", absl::StrCat("http://127.0.0.1:", port(), "/delay/1500")});
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests == 1; }, std::chrono::seconds(10)));
  // A timeout of the listener applies to the next request; the connection goes on.
  ASSERT_NO_FATAL_FAILURE(
      reloadTo(h2ReloadConfig(backendPort(0), "http2 = true\nheader_timeout = \"7s\"")));
  EXPECT_EQ((*in_flight)->waitExit(std::chrono::seconds(15)), 0) << (*in_flight)->output();
  EXPECT_THAT((*in_flight)->output(), HasSubstr(":status: 200"));
  EXPECT_THAT((*in_flight)->output(), Not(HasSubstr("recv GOAWAY")));
}

TEST_F(Http2ReloadTest, Http11ConnectionsOfAChangedListenerCloseAfterTheirResponse) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(h2ReloadConfig(backendPort(0), "")));
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  std::optional<Response> first = idle.request("GET", "/");
  ASSERT_TRUE(first.has_value()) << idle.lastError();
  HttpClient busy;
  ASSERT_NO_FATAL_FAILURE(connect(&busy));
  ASSERT_TRUE(busy.sendRaw(busy.buildRequest("GET", "/delay/1500")));
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests == 2; }, std::chrono::seconds(10)));

  // The listener starts taking HTTP/2: its HTTP/1.1 connections so far end.
  ASSERT_NO_FATAL_FAILURE(reloadTo(h2ReloadConfig(backendPort(0), "http2 = true")));
  EXPECT_TRUE(idle.waitForPeerClose(std::chrono::seconds(10))) << "idle keep-alive closes now";
  std::optional<Response> finished = busy.readResponse();
  ASSERT_TRUE(finished.has_value()) << busy.lastError();
  EXPECT_EQ(finished->status, 200);
  EXPECT_EQ(finished->header("Connection"), "close");
  EXPECT_TRUE(busy.waitForPeerClose(std::chrono::seconds(10)));

  // New connections are served as before.
  HttpClient fresh;
  ASSERT_NO_FATAL_FAILURE(connect(&fresh));
  std::optional<Response> answer = fresh.request("GET", "/");
  ASSERT_TRUE(answer.has_value()) << fresh.lastError();
  EXPECT_EQ(answer->status, 200);
  EXPECT_NE(answer->header("Connection"), "close");
}

}  // namespace
}  // namespace sy::testing
