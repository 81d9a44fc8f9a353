// HTTPS listeners (issue 12): a listener with certificates terminates TLS 1.2/1.3 and proxies
// to plain backends. Certificates are made per test suite by the openssl command; clients are
// an OpenSSL client in the test (exact control of SNI, versions and signature algorithms) and
// curl. Certificates are re-read on reload; a bad one is refused and the running one stays.

#include <openssl/ssl.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

using TlsListenerTest = TlsProxyTest;

TEST_F(TlsListenerTest, ProxiesHttpsToThePlainBackend) {
  TempDir logs;
  const std::string log_path = logs.file("access.log");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(
      "", 1,
      absl::StrCat("\n[access_log]\npath = \"", log_path, "\"\nflush_interval = \"10ms\"\n"))));
  TlsClient client;
  ASSERT_TRUE(client.connect(port(), trusting("www.example.com"))) << client.lastError();
  EXPECT_EQ(client.version(), "TLSv1.3");
  EXPECT_EQ(client.alpn(), "http/1.1");
  EXPECT_EQ(client.peerChainLength(), 2);  // the leaf and its intermediate, as in the file
  for (int i = 0; i < 2; ++i) {            // keep-alive: two requests on one connection
    std::optional<std::string> response = get(client, "/echo");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_THAT(*response, HasSubstr("HTTP/1.1 200 OK"));
    EXPECT_THAT(*response, HasSubstr("[\"X-Forwarded-Proto\",\"https\"]"));
  }
  // The access log says how the client connected.
  std::optional<nlohmann::json> line;
  ASSERT_TRUE(waitUntil(
      [&] {
        std::ifstream in(log_path);
        std::string text;
        if (!std::getline(in, text)) return false;
        line = parseJson(text);
        return line.has_value();
      },
      milliseconds(5000)));
  ASSERT_TRUE((*line)["tls"].is_object()) << line->dump();
  EXPECT_EQ((*line)["tls"]["version"], "TLSv1.3");
  EXPECT_EQ((*line)["tls"]["alpn"], "http/1.1");
  EXPECT_EQ((*line)["tls"]["sni"], "www.example.com");
  EXPECT_EQ((*line)["tls"]["resumed"], false);
  EXPECT_TRUE((*line)["tls"]["cipher"].is_string());
}

TEST_F(TlsListenerTest, CurlVerifiesTheChainAndGetsTheBackend) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config()));
  const std::string host = absl::StrCat("www.example.com:", port());
  auto curl =
      ChildProcess::start({"curl", "-sS", "--max-time", "10", "--cacert", certificates_->rootCa(),
                           "--resolve", host + ":127.0.0.1", "-w",
                           "%{http_version} %{http_code}\\n", absl::StrCat("https://", host, "/")});
  ASSERT_TRUE(curl.ok()) << curl.status();
  EXPECT_EQ((*curl)->waitExit(std::chrono::seconds(15)), 0) << (*curl)->output();
  // curl offers h2 first, which a TLS listener speaks unless http2 = false.
  EXPECT_THAT((*curl)->stdoutLines(), ::testing::ElementsAre("blue", "2 200")) << (*curl)->output();
}

TEST_F(TlsListenerTest, ServerNamePicksExactThenWildcardThenTheDefault) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config()));
  struct Case {
    std::string sni;
    std::string expected_cn;
  };
  for (const Case& c : {Case{"www.example.com", "www.example.com"},
                        Case{"EXAMPLE.com", "www.example.com"},  // names are case-insensitive
                        Case{"api.other.test", "*.other.test"},
                        Case{"a.b.other.test", "www.example.com"},  // one label only
                        Case{"unknown.test", "www.example.com"},    // the default
                        Case{"", "www.example.com"}}) {             // no SNI: the default
    TlsClient client;
    TlsClientOptions options;
    options.sni = c.sni;
    ASSERT_TRUE(client.connect(port(), options)) << c.sni << ": " << client.lastError();
    EXPECT_EQ(client.peerCommonName(), c.expected_cn) << c.sni;
  }
  // The wildcard certificate verifies for the name it was picked for.
  TlsClient verified;
  EXPECT_TRUE(verified.connect(port(), trusting("api.other.test"))) << verified.lastError();
}

TEST_F(TlsListenerTest, StrictSniAnswersAnUnknownNameWithAnAlert) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(", strict_sni = true")));
  TlsClient unknown;
  TlsClientOptions options;
  options.sni = "unknown.test";
  EXPECT_FALSE(unknown.connect(port(), options));
  EXPECT_THAT(unknown.lastError(), HasSubstr("unrecognized name"));
  TlsClient known;
  EXPECT_TRUE(known.connect(port(), trusting("www.example.com"))) << known.lastError();
  TlsClient no_sni;  // a client without SNI still gets the default
  EXPECT_TRUE(no_sni.connect(port(), TlsClientOptions{})) << no_sni.lastError();
}

TEST_F(TlsListenerTest, ClientSignatureAlgorithmsPickRsaOrEcdsa) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config()));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    TlsClientOptions ecdsa = trusting("www.example.com");
    ecdsa.min_version = ecdsa.max_version = version;
    ecdsa.sigalgs = "ECDSA+SHA256";
    TlsClient ecdsa_client;
    ASSERT_TRUE(ecdsa_client.connect(port(), ecdsa)) << ecdsa_client.lastError();
    EXPECT_EQ(ecdsa_client.peerKeyType(), "EC") << version;

    TlsClientOptions rsa = trusting("www.example.com");
    rsa.min_version = rsa.max_version = version;
    rsa.sigalgs = "RSA-PSS+SHA256:RSA+SHA256";
    TlsClient rsa_client;
    ASSERT_TRUE(rsa_client.connect(port(), rsa)) << rsa_client.lastError();
    EXPECT_EQ(rsa_client.peerKeyType(), "RSA") << version;
  }
}

TEST_F(TlsListenerTest, RefusesTls11AndOlderAndHonoursMinVersion) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config()));
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsClientOptions old = trusting("www.example.com");
    old.min_version = old.max_version = version;
    old.ciphers = "DEFAULT@SECLEVEL=0";  // let this client offer what the server must refuse
    TlsClient client;
    EXPECT_FALSE(client.connect(port(), old)) << version;
    EXPECT_THAT(client.lastError(), HasSubstr("protocol version")) << version;
  }
  TlsClientOptions tls12 = trusting("www.example.com");
  tls12.max_version = TLS1_2_VERSION;
  TlsClient client12;
  ASSERT_TRUE(client12.connect(port(), tls12)) << client12.lastError();
  EXPECT_EQ(client12.version(), "TLSv1.2");
  std::optional<std::string> response = get(client12, "/");
  ASSERT_TRUE(response.has_value()) << client12.lastError();
  EXPECT_THAT(*response, HasSubstr("200 OK"));
}

TEST_F(TlsListenerTest, MinVersion13RefusesTls12) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(", min_version = \"1.3\"")));
  TlsClientOptions tls12 = trusting("www.example.com");
  tls12.max_version = TLS1_2_VERSION;
  TlsClient client12;
  EXPECT_FALSE(client12.connect(port(), tls12));
  TlsClient client13;
  EXPECT_TRUE(client13.connect(port(), trusting("www.example.com"))) << client13.lastError();
}

TEST_F(TlsListenerTest, PlainHttpGarbageAndStalledHandshakesCloseOneConnection) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config()));
  {
    // nginx's answer to plain HTTP on an HTTPS port, then the connection ends.
    HttpClient plain;
    ASSERT_NO_FATAL_FAILURE(connect(&plain));
    ASSERT_TRUE(plain.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::optional<Response> response = plain.readResponse();
    ASSERT_TRUE(response.has_value()) << plain.lastError();
    EXPECT_EQ(response->status, 400);
    EXPECT_THAT(response->body, HasSubstr("HTTPS"));
    EXPECT_TRUE(plain.waitForPeerClose(milliseconds(5000)));
  }
  {
    HttpClient garbage;
    ASSERT_NO_FATAL_FAILURE(connect(&garbage));
    ASSERT_TRUE(garbage.sendRaw(std::string("\x16\x03\x01\x00\x05garbage-bytes\xff\x00", 20)));
    EXPECT_TRUE(garbage.waitForPeerClose(milliseconds(5000)));
  }
  {
    // A client that opens and says nothing is cut by header_timeout (500 ms here).
    HttpClient silent;
    ASSERT_NO_FATAL_FAILURE(connect(&silent));
    EXPECT_TRUE(silent.waitForPeerClose(milliseconds(5000)));
  }
  // The proxy is unharmed.
  TlsClient client;
  ASSERT_TRUE(client.connect(port(), trusting("www.example.com"))) << client.lastError();
  std::optional<std::string> response = get(client, "/");
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_THAT(*response, HasSubstr("200 OK"));
}

TEST_F(TlsListenerTest, SessionTicketsResumeOnEveryWorker) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config("", 2)));
  SSL_SESSION* session = nullptr;
  {
    TlsClient first;
    ASSERT_TRUE(first.connect(port(), trusting("www.example.com"))) << first.lastError();
    ASSERT_TRUE(get(first, "/").has_value()) << first.lastError();  // the ticket follows
    session = first.takeSession();
  }
  ASSERT_NE(session, nullptr);
  ASSERT_EQ(SSL_SESSION_is_resumable(session), 1);
  ASSERT_EQ(SSL_SESSION_has_ticket(session), 1);
  // The kernel spreads these over both workers' sockets; every one resumes. Each uses the
  // ticket of the one before, as clients do (RFC 8446 §C.4: a ticket is for one connection).
  int resumed = 0;
  for (int i = 0; i < 8; ++i) {
    TlsClientOptions options = trusting("www.example.com");
    options.session = session;
    TlsClient again;
    ASSERT_TRUE(again.connect(port(), options)) << again.lastError();
    if (again.resumed()) ++resumed;
    ASSERT_TRUE(get(again, "/").has_value()) << again.lastError();
    SSL_SESSION_free(session);
    session = again.takeSession();
    ASSERT_NE(session, nullptr);
  }
  SSL_SESSION_free(session);
  EXPECT_EQ(resumed, 8);
}

// A response the client asked to be the last (HTTP/1.0, Connection: close) ends with
// close_notify (RFC 8446 6.1): without it OpenSSL clients see a truncation and drop the session,
// so `openssl s_time -reuse` never resumed (found by the bench: 0.53x nginx).
TEST_F(TlsListenerTest, ALastResponseEndsWithCloseNotifyAndItsSessionResumes) {
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config("", 1)));
  for (const std::string request :
       {"GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n"}) {
    SCOPED_TRACE(request);
    TlsClient first;
    ASSERT_TRUE(first.connect(port(), trusting("www.example.com"))) << first.lastError();
    ASSERT_TRUE(first.send(request));
    EXPECT_THAT(first.readUntilClose(), HasSubstr(" 200 OK\r\n"));
    EXPECT_TRUE(first.closedWithNotify()) << "a bare EOF: the client cannot tell a truncation";
    SSL_SESSION* session = first.takeSession();
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_SESSION_is_resumable(session), 1);
    TlsClientOptions options = trusting("www.example.com");
    options.session = session;
    TlsClient again;
    ASSERT_TRUE(again.connect(port(), options)) << again.lastError();
    EXPECT_TRUE(again.resumed());
    SSL_SESSION_free(session);
  }
}

TEST_F(TlsListenerTest, ReloadServesNewCertificatesAndRefusesABadOne) {
  // A certificate of its own, so that rewriting its files does not affect the other tests.
  auto site = certificates_->issue("site", KeyType::kEcdsa, {"site.test"});
  ASSERT_TRUE(site.ok()) << site.status();
  const std::string toml = absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"https\"\nlisten = \"127.0.0.1:0\"\n"
      "tls = { certificates = [ ",
      certificateEntry(*site),
      " ] }\n\n[[pools]]\nname = \"app\"\nbackends = ", backendList({backendPort(0)}),
      "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n");
  ASSERT_NO_FATAL_FAILURE(startProxyToml(toml));
  const std::string old_serial = certificateSerial(site->cert);
  TlsClient before;
  ASSERT_TRUE(before.connect(port(), trusting("site.test"))) << before.lastError();
  EXPECT_EQ(before.peerSerial(), old_serial);
  ASSERT_TRUE(get(before, "/", "site.test").has_value()) << before.lastError();

  // Rotate: new files at the same paths, then a reload.
  ASSERT_TRUE(certificates_->issue("site", KeyType::kEcdsa, {"site.test"}).ok());
  const std::string new_serial = certificateSerial(site->cert);
  ASSERT_NE(new_serial, old_serial);
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(toml);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)["event"], "config_reloaded") << reloaded->dump();
  for (int i = 0; i < 4; ++i) {  // whichever worker accepts
    TlsClient after;
    ASSERT_TRUE(after.connect(port(), trusting("site.test"))) << after.lastError();
    EXPECT_EQ(after.peerSerial(), new_serial);
  }
  // The connection made before the reload goes on with its session.
  std::optional<std::string> response = get(before, "/", "site.test");
  ASSERT_TRUE(response.has_value()) << before.lastError();
  EXPECT_THAT(*response, HasSubstr("200 OK"));

  // A key that does not match its certificate is refused; the certificate in force stays.
  {
    std::ifstream in(rsa_.key);
    std::stringstream other_key;
    other_key << in.rdbuf();
    std::ofstream(site->key, std::ios::trunc) << other_key.str();
  }
  absl::StatusOr<nlohmann::json> refused = proxy_.reload(toml);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ((*refused)["event"], "config_reload_failed") << refused->dump();
  EXPECT_THAT(refused->dump(), HasSubstr("does not match the certificate"));
  TlsClient still;
  ASSERT_TRUE(still.connect(port(), trusting("site.test"))) << still.lastError();
  EXPECT_EQ(still.peerSerial(), new_serial);
}

TEST_F(TlsListenerTest, CheckLoadsCertificatesAndReportsAMismatchedKey) {
  TempDir dir;
  const std::string good = dir.writeFile("good.toml", config());
  auto check = ChildProcess::start({SY_BINARY_PATH, "--check", good});
  ASSERT_TRUE(check.ok()) << check.status();
  // One line per certificate it loaded.
  EXPECT_TRUE((*check)->waitForLine(
      [](const std::string& line) { return line.find("EC www.example.com") != std::string::npos; },
      milliseconds(10000)));
  EXPECT_EQ((*check)->waitExit(std::chrono::seconds(10)), 0) << (*check)->output();

  CertificateFiles mismatched{rsa_.cert, ecdsa_.key};
  const std::string bad = dir.writeFile(
      "bad.toml", absl::StrCat("[[listeners]]\nlisten = \"127.0.0.1:0\"\ntls = { certificates = [ ",
                               certificateEntry(mismatched),
                               " ] }\n[[pools]]\nname = \"app\"\nbackends = [\"127.0.0.1:1\"]\n"
                               "[[routes]]\nname = \"default\"\npool = \"app\"\n"));
  auto refused = ChildProcess::start({SY_BINARY_PATH, "--check", bad});
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE((*refused)->waitForLine(
      [](const std::string& line) {
        return line.find("does not match the certificate") != std::string::npos;
      },
      milliseconds(10000)))
      << (*refused)->output();
  EXPECT_EQ((*refused)->waitExit(std::chrono::seconds(10)), 1) << (*refused)->output();
}

}  // namespace
}  // namespace sy::testing

namespace sy::testing {
namespace {

// TLS to backends: a second Switchyard with a TLS listener (the fixture's certificates) is the
// HTTPS backend; the proxy under test reaches it through pools with `tls`.
TEST_F(TlsListenerTest, PoolTlsVerifiesTheBackendCertificate) {
  absl::StatusOr<SwitchyardProcess> https_backend = startSwitchyard(config());
  ASSERT_TRUE(https_backend.ok()) << https_backend.status();
  auto other_root = TestCertificates::create();
  ASSERT_TRUE(other_root.ok()) << other_root.status();
  const std::string backend = backendList({https_backend->port()});
  const std::string root = certificates_->rootCa();
  auto pool = [&](const std::string& name, const std::string& tls) {
    return absl::StrCat("[[pools]]\nname = \"", name, "\"\nbackends = ", backend, "\ntls = { ", tls,
                        " }\n\n");
  };
  auto route = [](const std::string& name) {
    return absl::StrCat("[[routes]]\nname = \"", name, "\"\npath_prefix = \"/", name,
                        "/\"\npool = \"", name, "\"\nretries = 0\n\n");
  };
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      pool("good", absl::StrCat("sni = \"www.example.com\", ca = \"", root, "\"")),
      pool("wrongname", absl::StrCat("sni = \"api.example.com\", ca = \"", root, "\"")),
      pool("wrongca",
           absl::StrCat("sni = \"www.example.com\", ca = \"", (*other_root)->rootCa(), "\"")),
      pool("noverify", "sni = \"api.example.com\", verify = false"), route("good"),
      route("wrongname"), route("wrongca"), route("noverify"))));

  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < 2; ++i) {  // the second request reuses the pooled TLS connection
    std::optional<Response> good = client.request("GET", "/good/echo");
    ASSERT_TRUE(good.has_value()) << client.lastError();
    EXPECT_EQ(good->status, 200);
    EXPECT_EQ(good->header("X-Backend"), "blue");
  }
  // Both went over one TLS connection, kept in the pool.
  EXPECT_EQ(openConnections(https_backend->port()), 1);
  std::optional<Response> no_verify = client.request("GET", "/noverify/");
  ASSERT_TRUE(no_verify.has_value()) << client.lastError();
  EXPECT_EQ(no_verify->status, 200);

  for (const char* path : {"/wrongname/", "/wrongca/"}) {
    HttpClient refused;
    ASSERT_NO_FATAL_FAILURE(connect(&refused));
    std::optional<Response> response = refused.request("GET", path);
    ASSERT_TRUE(response.has_value()) << refused.lastError();
    EXPECT_EQ(response->status, 502) << path;
  }
  // Each refusal is logged with the reason.
  EXPECT_TRUE(proxy_.process->waitForLine(
      [](const std::string& line) {
        return line.find("upstream_tls_handshake_failed") != std::string::npos &&
               line.find("hostname mismatch") != std::string::npos;
      },
      milliseconds(5000)))
      << proxy_.process->output();
  EXPECT_TRUE(proxy_.process->waitForLine(
      [](const std::string& line) {
        return line.find("upstream_tls_handshake_failed") != std::string::npos &&
               line.find("unable to get local issuer certificate") != std::string::npos;
      },
      milliseconds(5000)))
      << proxy_.process->output();
  https_backend->process->signal(SIGTERM);
  EXPECT_EQ(https_backend->process->waitExit(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace sy::testing
