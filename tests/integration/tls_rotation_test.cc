// Certificate rotation under keep-alive load (issue 12): while keep-alive HTTPS clients send
// requests without pause and other clients open a new connection per request, the certificate
// files are replaced and POST /admin/reload is sent. Nothing fails; new handshakes get the new
// serial; the connections opened before go on, with the certificate they started with.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using TlsRotationTest = TlsProxyTest;

// What one client thread did.
struct ClientRecord {
  std::atomic<int> requests{0};
  std::atomic<int> failures{0};
  std::atomic<int> reconnects{0};  // keep-alive clients: connections beyond the first
  // The client stops at this many requests (the bound if the test hangs around); moved on at
  // the reload, so that a fast client's budget is not spent before it (CI saw a keep-alive
  // client make its 3,000 while a per-request client made 55 handshakes, and stop).
  std::atomic<int> budget_end{0};
  std::string first_serial;          // keep-alive clients: the serial of their connection
  std::string failure;               // the first failure, for the message
  std::vector<std::string> serials;  // per-request clients: the serial of each handshake
};

TEST_F(TlsRotationTest, ReplacedCertificateUnderKeepAliveLoadFailsNothing) {
  auto site = certificates_->issue("rotating", KeyType::kEcdsa, {"site.test"});
  ASSERT_TRUE(site.ok()) << site.status();
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"https\"\nlisten = \"127.0.0.1:0\"\n"
      "tls = { certificates = [ ",
      certificateEntry(*site), " ] }\n\n[[pools]]\nname = \"app\"\nbackends = ",
      backendList({backendPort(0)}), "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  const std::string old_serial = certificateSerial(site->cert);
  const uint16_t https_port = port();

  constexpr int kKeepAlive = 4;
  constexpr int kPerRequest = 2;
  constexpr int kMaxWarmUpRequests = 20000;  // per client, before the reload
  constexpr int kMaxRequests = 3000;         // per client, after the reload
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::atomic<bool> stop{false};
  std::vector<ClientRecord> records(kKeepAlive + kPerRequest);
  for (ClientRecord& record : records) record.budget_end = kMaxWarmUpRequests;
  auto fail = [](ClientRecord& record, std::string why) {
    if (record.failures.fetch_add(1) == 0) record.failure = std::move(why);
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < kKeepAlive; ++c) {
    threads.emplace_back([&, c] {
      ClientRecord& record = records[c];
      TlsClient client;
      if (!client.connect(https_port, trusting("site.test"))) {
        fail(record, "connect: " + client.lastError());
        return;
      }
      record.first_serial = client.peerSerial();
      while (!stop && record.requests < record.budget_end && Clock::now() < deadline) {
        std::optional<std::string> response = get(client, "/", "site.test");
        if (!response.has_value() || response->rfind("HTTP/1.1 200 ", 0) != 0) {
          fail(record, response.has_value() ? response->substr(0, 40) : client.lastError());
          // Go on with a new connection, so one failure does not hide the others.
          ++record.reconnects;
          if (!client.connect(https_port, trusting("site.test"))) return;
          continue;
        }
        ++record.requests;
      }
    });
  }
  for (int c = kKeepAlive; c < kKeepAlive + kPerRequest; ++c) {
    threads.emplace_back([&, c] {
      ClientRecord& record = records[c];
      while (!stop && record.requests < record.budget_end && Clock::now() < deadline) {
        TlsClient client;
        if (!client.connect(https_port, trusting("site.test"))) {
          fail(record, "connect: " + client.lastError());
          continue;
        }
        record.serials.push_back(client.peerSerial());
        std::optional<std::string> response = get(client, "/", "site.test");
        if (!response.has_value() || response->rfind("HTTP/1.1 200 ", 0) != 0) {
          fail(record, response.has_value() ? response->substr(0, 40) : client.lastError());
          continue;
        }
        ++record.requests;
      }
    });
  }
  auto everyClientDid = [&](int at_least) {
    for (const ClientRecord& record : records) {
      if (record.requests < at_least && record.failures == 0) return false;
    }
    return true;
  };
  const bool warmed_up = waitUntil([&] { return everyClientDid(20); }, milliseconds(20000));

  // Rotate: new files at the same paths, then POST /admin/reload.
  ASSERT_TRUE(certificates_->issue("rotating", KeyType::kEcdsa, {"site.test"}).ok());
  const std::string new_serial = certificateSerial(site->cert);
  const AdminResult reloaded = adminCall(*admin_port, "POST", "/admin/reload");
  std::vector<int> at_reload;
  for (ClientRecord& record : records) {
    at_reload.push_back(record.requests);
    record.budget_end = at_reload.back() + kMaxRequests;
  }

  // Every client goes on for a while after the reload.
  const bool went_on = waitUntil(
      [&] {
        for (size_t i = 0; i < records.size(); ++i) {
          if (records[i].requests < at_reload[i] + 20 && records[i].failures == 0) return false;
        }
        return true;
      },
      milliseconds(20000));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  // Which client stalled, if one did: requests before and after the reload, failures.
  std::string progress;
  for (size_t i = 0; i < records.size(); ++i) {
    absl::StrAppend(&progress, " client ", i, ": ", at_reload[i], " then ",
                    records[i].requests.load() - at_reload[i], " requests, ",
                    records[i].failures.load(), " failures, reconnects ",
                    records[i].reconnects.load(), ";");
  }

  ASSERT_TRUE(warmed_up) << progress;
  ASSERT_EQ(reloaded.status, 200) << reloaded.text();
  ASSERT_NE(new_serial, old_serial);
  EXPECT_TRUE(went_on) << progress;
  int total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const ClientRecord& record = records[i];
    total += record.requests.load();
    EXPECT_EQ(record.failures.load(), 0) << "client " << i << ": " << record.failure;
    if (i < kKeepAlive) {
      // The same connection all along, on the certificate it started with.
      EXPECT_EQ(record.reconnects.load(), 0) << "client " << i;
      EXPECT_EQ(record.first_serial, old_serial) << "client " << i;
    } else {
      // Handshakes saw the old serial before the reload and the new one after it (while the
      // workers adopt the new snapshot, either), never anything else.
      ASSERT_FALSE(record.serials.empty());
      EXPECT_EQ(record.serials.front(), old_serial);
      EXPECT_EQ(record.serials.back(), new_serial);
      for (const std::string& serial : record.serials) {
        EXPECT_TRUE(serial == old_serial || serial == new_serial) << "client " << i;
      }
    }
  }
  // New handshakes after the reload get the new certificate, whichever worker accepts.
  for (int i = 0; i < 4; ++i) {
    TlsClient after;
    ASSERT_TRUE(after.connect(https_port, trusting("site.test"))) << after.lastError();
    EXPECT_EQ(after.peerSerial(), new_serial);
  }
  EXPECT_GT(total, 0);
}

}  // namespace
}  // namespace sy::testing
