// listenerChangeEndsConnections: which reloaded listener settings end the connections accepted
// under the old ones (the settings a connection fixes when it begins) and which apply to the
// next request of a connection already open. One row per setting, each changed alone from the
// same listener.
//
// The backlog is not among them: it belongs to the listening socket, and a listener whose
// address or backlog changed gets new sockets (proxy/control/listener_changes.h), whose closing
// ends the connections accepted on the old ones (Worker::updateListeners). Routes live in the
// snapshot's route table, not in the listener settings, so no reload of them can end a
// connection here.

#include "proxy/listener_revision.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/test_certificates.h"
#include "tls/server_context.h"

namespace sy::proxy {
namespace {

using ListenerEdit = std::function<void(routing::ListenerSettings&)>;

struct ListenerRevisionCase {
  std::string name;
  ListenerEdit edit;
  bool ends_connections;
};

void PrintTo(const ListenerRevisionCase& c, std::ostream* os) { *os << c.name; }

// Two TLS contexts of the same certificate, as two reloads build them: the second stands for a
// rotated certificate (a new context; connections keep the one they were accepted with).
struct ListenerRevisionTls {
  std::unique_ptr<testing::TestCertificates> certificates;
  std::shared_ptr<const tls::ServerContext> first;
  std::shared_ptr<const tls::ServerContext> second;
};

ListenerRevisionTls& listenerRevisionTls() {
  static ListenerRevisionTls* contexts = [] {
    auto* made = new ListenerRevisionTls;
    auto certificates = testing::TestCertificates::create();
    if (!certificates.ok()) return made;
    made->certificates = std::move(*certificates);
    auto leaf = made->certificates->issue("site", testing::KeyType::kEcdsa, {"site.test"});
    if (!leaf.ok()) return made;
    tls::ServerSettings settings;
    settings.certificates = {{leaf->cert, leaf->key}};
    auto first = tls::ServerContext::create(settings);
    auto second =
        tls::ServerContext::create(settings, first.ok() ? (*first)->ticketKeys() : nullptr);
    if (first.ok()) made->first = *first;
    if (second.ok()) made->second = *second;
    return made;
  }();
  return *contexts;
}

routing::ListenerSettings listenerRevisionBase() {
  routing::ListenerSettings listener;
  listener.name = "web";
  listener.id = 3;
  listener.address = *core::NetAddress::parse("127.0.0.1:8080");
  listener.http2 = true;
  return listener;
}

std::vector<ListenerRevisionCase> listenerRevisionCases() {
  using L = routing::ListenerSettings;
  return {
      // What a connection fixes when it begins: a change ends it.
      {"AddressPort", [](L& l) { l.address = *core::NetAddress::parse("127.0.0.1:8081"); }, true},
      {"AddressHost", [](L& l) { l.address = *core::NetAddress::parse("[::1]:8080"); }, true},
      {"TlsTurnedOn", [](L& l) { l.tls = listenerRevisionTls().first; }, true},
      {"ProxyProtocol", [](L& l) { l.proxy_protocol = true; }, true},
      {"Http2Off", [](L& l) { l.http2 = false; }, true},
      {"Http2MaxConcurrentStreams", [](L& l) { l.http2_limits.max_concurrent_streams = 64; }, true},
      {"Http2MaxHeaderListSize", [](L& l) { l.http2_limits.max_header_list_size = 16384; }, true},
      {"Http2HpackTableSize", [](L& l) { l.http2_limits.hpack_table_size = 0; }, true},
      {"Http2ResponseHpackTableSize", [](L& l) { l.http2_limits.response_hpack_table_size = 0; },
       true},
      {"Http2MaxResets", [](L& l) { l.http2_limits.max_resets = 10; }, true},
      {"Http2ResetInterval", [](L& l) { l.http2_limits.reset_interval_ms = 1000; }, true},
      {"Http2StallTimeout", [](L& l) { l.http2_limits.stall_timeout_ms = 5000; }, true},
      // What applies to the next request of an open connection: a change leaves it alone.
      {"Nothing", [](L&) {}, false},
      {"HeaderTimeout", [](L& l) { l.header_timeout_ms = 1000; }, false},
      {"KeepaliveTimeout", [](L& l) { l.keepalive_timeout_ms = 1000; }, false},
      {"ClientTimeout", [](L& l) { l.client_timeout_ms = 1000; }, false},
      {"AbortOnClientClose", [](L& l) { l.abort_on_client_close = false; }, false},
      {"ParserLimits", [](L& l) { l.limits.max_header_count = 10; }, false},
      {"PathOptions", [](L& l) { l.path.merge_slashes = false; }, false},
      {"RejectUnnormalizedPaths", [](L& l) { l.reject_unnormalized_paths = true; }, false},
      {"ClientLimits", [](L& l) { l.client_limits.max_connections_per_ip = 5; }, false},
      {"RedirectToHttps", [](L& l) { l.redirect_to_https = true; }, false},
      {"HttpsPort", [](L& l) { l.https_port = 8443; }, false},
      {"MaxBody", [](L& l) { l.max_body_bytes = 1024; }, false},
      {"RequestId", [](L& l) { l.request_id.always = true; }, false},
  };
}

class ListenerRevisionTest : public ::testing::TestWithParam<ListenerRevisionCase> {};

TEST_P(ListenerRevisionTest, EndsConnectionsOnlyForWhatAConnectionFixes) {
  const ListenerRevisionCase& c = GetParam();
  const routing::ListenerSettings before = listenerRevisionBase();
  routing::ListenerSettings after = before;
  c.edit(after);
  EXPECT_EQ(listenerChangeEndsConnections(before, after), c.ends_connections);
  // The same change undone is a change too.
  EXPECT_EQ(listenerChangeEndsConnections(after, before), c.ends_connections);
}

INSTANTIATE_TEST_SUITE_P(Settings, ListenerRevisionTest,
                         ::testing::ValuesIn(listenerRevisionCases()),
                         [](const ::testing::TestParamInfo<ListenerRevisionCase>& param) {
                           return param.param.name;
                         });

// TLS stays on with a new context (a reload re-reads the certificates, a rotation): the
// connections keep the certificate they were shown.
TEST(ListenerRevisionTlsTest, NewCertificatesKeepConnections) {
  ListenerRevisionTls& contexts = listenerRevisionTls();
  ASSERT_NE(contexts.first, nullptr);
  ASSERT_NE(contexts.second, nullptr);
  routing::ListenerSettings before = listenerRevisionBase();
  before.tls = contexts.first;
  routing::ListenerSettings after = before;
  after.tls = contexts.second;
  EXPECT_FALSE(listenerChangeEndsConnections(before, after));
  // Turning it off ends them.
  after.tls = nullptr;
  EXPECT_TRUE(listenerChangeEndsConnections(before, after));
}

}  // namespace
}  // namespace sy::proxy
