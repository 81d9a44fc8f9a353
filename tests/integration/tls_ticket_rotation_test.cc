// Session ticket key rotation on a TLS listener (issue 12): with a short
// session_ticket_rotation, the control thread rotates the keys on its timer (logged); a ticket
// issued before one rotation still resumes, on whichever of two workers takes the connection,
// and one issued before two rotations gets a full handshake. Tickets also survive a reload.
// (The key semantics, without timers: tests/unit/tls/ticket_keys_test.cc.)

#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using TlsTicketRotationTest = TlsProxyTest;

// Waits for the `rotations`-th tls_ticket_keys_rotated line of listener "https".
bool waitRotation(ChildProcess& proxy, uint64_t rotations, milliseconds timeout) {
  return proxy
      .waitForLine(
          [rotations](const std::string& line) {
            std::optional<nlohmann::json> event = parseJsonLogLine(line);
            return event.has_value() && event->value("event", "") == "tls_ticket_keys_rotated" &&
                   event->value("listener", "") == "https" &&
                   event->value("rotations", uint64_t{0}) == rotations;
          },
          timeout)
      .has_value();
}

// A session from a new connection (after one request, so that TLS 1.3 tickets are in), or null.
SSL_SESSION* newSession(uint16_t port, const TlsClientOptions& options, bool* resumed = nullptr) {
  TlsClient client;
  if (!client.connect(port, options)) return nullptr;
  if (resumed != nullptr) *resumed = client.resumed();
  if (!client.send("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")) return nullptr;
  std::optional<std::string> response = client.readResponse();
  if (!response.has_value()) return nullptr;
  return client.takeSession();
}

// Connects offering `session`; whether the handshake resumed it (nullopt: no handshake). A copy
// is offered: OpenSSL marks a TLS 1.3 session it offered as used, and the test offers the same
// ticket again on purpose.
std::optional<bool> resumes(uint16_t port, TlsClientOptions options, SSL_SESSION* session) {
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  options.session = copy;
  std::optional<bool> resumed;
  {
    TlsClient client;
    if (client.connect(port, options)) resumed = client.resumed();
  }
  SSL_SESSION_free(copy);
  return resumed;
}

TEST_F(TlsTicketRotationTest, TicketResumesAfterOneRotationAndNotAfterTwo) {
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(config(", session_ticket_rotation = \"2s\"", /*workers=*/2)));
  ChildProcess& proxy = *proxy_.process;
  const milliseconds kWait(10000);  // a rotation comes every 2 s

  // A ticket is under a known key when it was taken between two rotations: rotation n seen,
  // n + 1 not yet. On a machine slow enough to miss a window, the next one is tried.
  bool checked = false;
  for (uint64_t n = 1; n <= 6 && !checked; ++n) {
    ASSERT_TRUE(waitRotation(proxy, n, kWait)) << proxy.output();
    SSL_SESSION* session = newSession(port(), trusting("www.example.com"));
    ASSERT_NE(session, nullptr);
    if (waitRotation(proxy, n + 1, milliseconds(0))) {  // too late: under key n + 1, maybe
      SSL_SESSION_free(session);
      continue;
    }
    ASSERT_TRUE(waitRotation(proxy, n + 1, kWait)) << proxy.output();
    // Several connections: with two workers, both get to decrypt it.
    bool all_resumed = true;
    for (int i = 0; i < 4; ++i) {
      std::optional<bool> resumed = resumes(port(), trusting("www.example.com"), session);
      ASSERT_TRUE(resumed.has_value());
      all_resumed = all_resumed && *resumed;
    }
    if (waitRotation(proxy, n + 2, milliseconds(0))) {  // the second rotation came in between
      SSL_SESSION_free(session);
      continue;
    }
    EXPECT_TRUE(all_resumed) << "a ticket issued before one rotation must resume";

    ASSERT_TRUE(waitRotation(proxy, n + 2, kWait)) << proxy.output();
    std::optional<bool> after_two = resumes(port(), trusting("www.example.com"), session);
    ASSERT_TRUE(after_two.has_value());
    EXPECT_FALSE(*after_two) << "a ticket issued before two rotations must not resume";
    SSL_SESSION_free(session);
    checked = true;
  }
  EXPECT_TRUE(checked) << "no rotation window was long enough to test in";
}

TEST_F(TlsTicketRotationTest, TicketsSurviveAReload) {
  const std::string toml = config("", /*workers=*/2);
  ASSERT_NO_FATAL_FAILURE(startProxyToml(toml));
  SSL_SESSION* session = newSession(port(), trusting("www.example.com"));
  ASSERT_NE(session, nullptr);
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(toml);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ((*reloaded)["event"], "config_reloaded") << reloaded->dump();
  std::optional<bool> resumed = resumes(port(), trusting("www.example.com"), session);
  SSL_SESSION_free(session);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_TRUE(*resumed);
}

}  // namespace
}  // namespace sy::testing
