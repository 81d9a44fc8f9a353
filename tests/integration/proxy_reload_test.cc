// SIGHUP reload: a valid file takes over for new requests (also on client connections opened
// before it), requests in flight finish on the old one; an invalid file is refused as a whole and
// the running configuration keeps serving. Listeners added, removed or moved open and close
// just their sockets.

#include <unistd.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

class ProxyReloadTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(config("blue")));
  }

  // Two workers, pools blue and green, one route to `pool`; `extra` is appended.
  std::string config(const std::string& pool, const std::string& extra = "") const {
    return absl::StrCat(
        "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\n",
        "listen = \"127.0.0.1:0\"\n\n[[pools]]\nname = \"blue\"\nbackends = ",
        backendList({backendPort(0)}),
        "\n\n[[pools]]\nname = \"green\"\nbackends = ", backendList({backendPort(1)}),
        "\n\n[[routes]]\nname = \"default\"\n", "pool = \"", pool, "\"\n", extra);
  }

  std::string backendOf(HttpClient& client, std::string_view target = "/") {
    std::optional<Response> response = client.request("GET", target);
    if (!response.has_value()) return "error: " + client.lastError();
    return response->header("X-Backend").value_or("status " + std::to_string(response->status));
  }

  std::string freshBackend() {
    HttpClient client;
    if (!client.connect(port())) return "error: " + client.lastError();
    return backendOf(client);
  }

  // Reloads and expects the event `expected` ("config_reloaded" or "config_reload_failed").
  nlohmann::json reload(const std::string& toml, std::string_view expected) {
    absl::StatusOr<nlohmann::json> event = proxy_.reload(toml);
    EXPECT_TRUE(event.ok()) << event.status();
    if (!event.ok()) return {};
    EXPECT_EQ((*event)["event"], expected) << event->dump();
    return *event;
  }
};

TEST_F(ProxyReloadTest, SwitchesThePoolForNewRequestsAndKeepsConnections) {
  HttpClient idle;
  ASSERT_NO_FATAL_FAILURE(connect(&idle));
  EXPECT_EQ(backendOf(idle), "blue");
  // A request in flight during the reload finishes where it started.
  HttpClient in_flight;
  ASSERT_NO_FATAL_FAILURE(connect(&in_flight));
  ASSERT_TRUE(in_flight.sendRaw(in_flight.buildRequest("GET", "/delay/500")));
  ASSERT_TRUE(waitUntil([&] { return stats(0).requests >= 2; }, milliseconds(3000)));

  reload(config("green"), "config_reloaded");

  std::optional<Response> finished = in_flight.readResponse();
  ASSERT_TRUE(finished.has_value()) << in_flight.lastError();
  EXPECT_EQ(finished->status, 200);
  EXPECT_EQ(finished->header("X-Backend"), "blue");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(freshBackend(), "green");
  // The keep-alive connection opened before the reload is still open and uses the new route.
  EXPECT_FALSE(idle.peerClosed());
  EXPECT_EQ(backendOf(idle), "green");
  EXPECT_EQ(backendOf(in_flight), "green");

  // And back.
  reload(config("blue"), "config_reloaded");
  EXPECT_EQ(backendOf(idle), "blue");
  EXPECT_EQ(freshBackend(), "blue");
}

TEST_F(ProxyReloadTest, InvalidFileIsRefusedAndTheRunningConfigurationKept) {
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  EXPECT_EQ(backendOf(client), "blue");

  // TOML syntax errors: a key without a value, a table defined twice.
  nlohmann::json event = reload(config("green") + "retries = \n", "config_reload_failed");
  EXPECT_EQ(freshBackend(), "blue");
  event = reload(config("green", "[server]\n"), "config_reload_failed");
  EXPECT_EQ(freshBackend(), "blue");
  // Files that parse but are wrong: an unknown pool, a duration that is not one.
  event = reload(config("gren"), "config_reload_failed");
  EXPECT_THAT(event.dump(), HasSubstr("gren"));
  EXPECT_EQ(freshBackend(), "blue");
  EXPECT_EQ(backendOf(client), "blue");
  event = reload(
      absl::StrCat(config("green"), "\n[[pools]]\nname = \"slow\"\n",
                   "response_timeout = \"soon\"\nbackends = ", backendList({backendPort(1)}), "\n"),
      "config_reload_failed");
  EXPECT_EQ(freshBackend(), "blue");
  EXPECT_TRUE(proxy_.process->running());

  // The reload mechanism itself still works.
  reload(config("green"), "config_reloaded");
  EXPECT_EQ(backendOf(client), "green");
}

TEST_F(ProxyReloadTest, AddedListenerServesAndRemovedOneRefusesWhileOthersKeepTheirConnections) {
  HttpClient kept;
  ASSERT_NO_FATAL_FAILURE(connect(&kept));
  EXPECT_EQ(backendOf(kept), "blue");

  const std::string second = "\n[[listeners]]\nname = \"second\"\nlisten = \"127.0.0.1:0\"\n";
  reload(config("green", second), "config_reloaded");
  const uint16_t second_port = listenerPortOf(*proxy_.process, "second");
  ASSERT_NE(second_port, 0) << proxy_.process->output();
  HttpClient on_second;
  ASSERT_TRUE(on_second.connect(second_port)) << on_second.lastError();
  EXPECT_EQ(backendOf(on_second), "green");
  // The unchanged listener kept its socket and the connection opened before the reload.
  EXPECT_EQ(backendOf(kept), "green");
  EXPECT_EQ(freshBackend(), "green");

  reload(config("blue"), "config_reloaded");
  EXPECT_TRUE(waitUntil(
      [&] {
        HttpClient probe(milliseconds(1000));
        return !probe.connect(second_port);
      },
      milliseconds(10000)));
  EXPECT_EQ(backendOf(kept), "blue");
  EXPECT_EQ(freshBackend(), "blue");
  // An idle keep-alive connection accepted by the removed listener closes (one busy then would
  // have had its response first, with Connection: close).
  EXPECT_TRUE(on_second.waitForPeerClose(milliseconds(10000))) << on_second.lastError();
}

TEST_F(ProxyReloadTest, ANewListenerOnATakenPortRefusesTheWholeReload) {
  uint16_t taken = 0;
  const int holder = listenOnLoopback(16, &taken);
  ASSERT_GE(holder, 0);
  nlohmann::json event = reload(
      config("green", absl::StrCat("\n[[listeners]]\nname = \"second\"\nlisten = \"127.0.0.1:",
                                   taken, "\"\n")),
      "config_reload_failed");
  EXPECT_THAT(event.dump(), HasSubstr("second"));
  ::close(holder);
  // Refused as a whole: the route change in the same file did not apply either.
  EXPECT_EQ(freshBackend(), "blue");
}

TEST_F(ProxyReloadTest, MovedListenerGetsANewSocketAndChangedTimeoutsApply) {
  HttpClient kept;
  ASSERT_NO_FATAL_FAILURE(connect(&kept));
  EXPECT_EQ(backendOf(kept), "blue");
  // A renamed listener is a new one: the old socket closes, the new one serves.
  std::string renamed = config("green");
  renamed.replace(renamed.find("name = \"http\""), 13, "name = \"web\"");
  reload(renamed, "config_reloaded");
  const uint16_t web_port = listenerPortOf(*proxy_.process, "web");
  ASSERT_NE(web_port, 0) << proxy_.process->output();
  HttpClient on_web;
  ASSERT_TRUE(on_web.connect(web_port)) << on_web.lastError();
  EXPECT_EQ(backendOf(on_web), "green");
  EXPECT_TRUE(waitUntil(
      [&] {
        HttpClient probe(milliseconds(1000));
        return !probe.connect(port());
      },
      milliseconds(10000)));

  // Timeouts live in the snapshot: they apply without touching the socket, to connections
  // already open too.
  std::string timeouts = renamed;
  timeouts.replace(timeouts.find("listen = \"127.0.0.1:0\""), 22,
                   "listen = \"127.0.0.1:0\"\nkeepalive_timeout = \"200ms\"");
  reload(timeouts, "config_reloaded");
  HttpClient fresh;
  ASSERT_TRUE(fresh.connect(web_port)) << fresh.lastError();
  EXPECT_EQ(backendOf(fresh), "green");
  EXPECT_TRUE(fresh.waitForPeerClose(milliseconds(10000))) << fresh.lastError();
}

}  // namespace
}  // namespace sy::testing
