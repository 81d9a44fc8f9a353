// The admin API over TLS (issue 12): [admin] tls = { certificates = [...] } serves the admin API
// over HTTPS; with client_ca, only a client with a certificate under that CA completes the
// handshake (with or without a token besides); the certificate is re-read on reload.

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_fixture.h"

namespace sy::testing {
namespace {

using AdminTlsTest = TlsProxyTest;

// `[admin]` on a free loopback port with `tls = { certificates = [cert], <tls_extra> }` and
// `admin_extra` lines.
std::string adminTls(const CertificateFiles& cert, const std::string& tls_extra = "",
                     const std::string& admin_extra = "") {
  return absl::StrCat("\n[admin]\nlisten = \"127.0.0.1:0\"\n", admin_extra,
                      "tls = { certificates = [ ", certificateEntry(cert), " ]", tls_extra, " }\n");
}

// One request on a new TLS connection to the admin API; the response, or nullopt when the
// handshake or the exchange failed (the reason in `error`).
std::optional<std::string> adminRequest(uint16_t port, const TlsClientOptions& options,
                                        const std::string& request, std::string* error = nullptr,
                                        std::string* serial = nullptr) {
  TlsClient client;
  std::optional<std::string> response;
  if (client.connect(port, options) && client.send(request)) response = client.readResponse();
  if (error != nullptr) *error = client.lastError();
  if (serial != nullptr) *serial = client.peerSerial();
  return response;
}

std::string getRequest(const std::string& path, const std::string& token = "") {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n",
                      token.empty() ? "" : "Authorization: Bearer " + token + "\r\n", "\r\n");
}

bool hasStatus(const std::optional<std::string>& response, int status) {
  return response.has_value() && response->rfind(absl::StrCat("HTTP/1.1 ", status, " "), 0) == 0;
}

TEST_F(AdminTlsTest, ServesHttpsWithTokenAndAnswersPlainHttpWith400) {
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(config("", 1, adminTls(rsa_, "", "token = \"s3cret\"\n"))));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();

  std::string error;
  std::optional<std::string> status = adminRequest(*admin_port, trusting("www.example.com"),
                                                   getRequest("/admin/status", "s3cret"), &error);
  ASSERT_TRUE(hasStatus(status, 200)) << status.value_or(error);
  EXPECT_NE(status->find("\"generation\""), std::string::npos) << *status;
  // The token still applies over TLS.
  EXPECT_TRUE(hasStatus(
      adminRequest(*admin_port, trusting("www.example.com"), getRequest("/admin/status")), 401));
  EXPECT_TRUE(hasStatus(
      adminRequest(*admin_port, trusting("www.example.com"), getRequest("/healthz")), 200));
  // Plain HTTP to the TLS port: nginx's answer, not a hang.
  AdminResult plain = adminCall(*admin_port, "GET", "/healthz");
  EXPECT_EQ(plain.status, 400) << plain.error;
}

TEST_F(AdminTlsTest, ClientCertificateIsRequiredAndMustBeUnderClientCa) {
  auto operator_cert = certificates_->issue("operator", KeyType::kEcdsa, {"operator.test"});
  ASSERT_TRUE(operator_cert.ok()) << operator_cert.status();
  auto other_ca = TestCertificates::create();
  ASSERT_TRUE(other_ca.ok()) << other_ca.status();
  auto stranger = (*other_ca)->issue("stranger", KeyType::kEcdsa, {"operator.test"});
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config(
      "", 1, adminTls(rsa_, absl::StrCat(", client_ca = \"", certificates_->rootCa(), "\"")))));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();

  TlsClientOptions with_cert = trusting("www.example.com");
  with_cert.cert_file = operator_cert->cert;
  with_cert.key_file = operator_cert->key;
  std::string error;
  std::optional<std::string> status =
      adminRequest(*admin_port, with_cert, getRequest("/admin/status"), &error);
  EXPECT_TRUE(hasStatus(status, 200)) << status.value_or(error);

  // Without a certificate, and with one from another CA, the handshake fails (with TLS 1.3 the
  // client learns it at its first read): no answer at all, for any path.
  for (const char* path : {"/admin/status", "/healthz"}) {
    std::optional<std::string> anonymous =
        adminRequest(*admin_port, trusting("www.example.com"), getRequest(path));
    EXPECT_FALSE(anonymous.has_value()) << *anonymous;
  }
  TlsClientOptions wrong_ca = trusting("www.example.com");
  wrong_ca.cert_file = stranger->cert;
  wrong_ca.key_file = stranger->key;
  std::optional<std::string> refused =
      adminRequest(*admin_port, wrong_ca, getRequest("/admin/status"));
  EXPECT_FALSE(refused.has_value()) << *refused;
  // Each refusal is logged with OpenSSL's reason.
  std::optional<nlohmann::json> logged =
      waitForLogEvent(*proxy_.process, "admin_tls_handshake_failed", std::chrono::seconds(10));
  ASSERT_TRUE(logged.has_value()) << proxy_.process->output();
  EXPECT_FALSE((*logged)["error"].get<std::string>().empty()) << logged->dump();

  // The certificate still works after the refusals.
  EXPECT_TRUE(hasStatus(adminRequest(*admin_port, with_cert, getRequest("/healthz")), 200));
}

TEST_F(AdminTlsTest, ClientCertificateAndTokenTogether) {
  auto operator_cert = certificates_->issue("operator2", KeyType::kRsa, {"operator.test"});
  ASSERT_TRUE(operator_cert.ok()) << operator_cert.status();
  ASSERT_NO_FATAL_FAILURE(startProxyToml(
      config("", 1,
             adminTls(ecdsa_, absl::StrCat(", client_ca = \"", certificates_->rootCa(), "\""),
                      "token = \"both\"\n"))));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  TlsClientOptions with_cert = trusting("www.example.com");
  with_cert.cert_file = operator_cert->cert;
  with_cert.key_file = operator_cert->key;
  EXPECT_TRUE(hasStatus(adminRequest(*admin_port, with_cert, getRequest("/admin/status")), 401));
  EXPECT_TRUE(
      hasStatus(adminRequest(*admin_port, with_cert, getRequest("/admin/status", "both")), 200));
}

TEST_F(AdminTlsTest, ReloadRereadsTheAdminCertificate) {
  auto admin_cert = certificates_->issue("admin-site", KeyType::kEcdsa, {"admin.test"});
  ASSERT_TRUE(admin_cert.ok()) << admin_cert.status();
  const std::string toml = config("", 1, adminTls(*admin_cert, "", "token = \"t\"\n"));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(toml));
  absl::StatusOr<uint16_t> admin_port = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();

  std::string serial_before;
  std::string error;
  ASSERT_TRUE(hasStatus(adminRequest(*admin_port, trusting("admin.test"), getRequest("/healthz"),
                                     &error, &serial_before),
                        200))
      << error;
  EXPECT_EQ(serial_before, certificateSerial(admin_cert->cert));

  // The same files with a new certificate; POST /admin/reload over the admin API's own TLS.
  auto renewed = certificates_->issue("admin-site", KeyType::kEcdsa, {"admin.test"});
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  const std::string new_serial = certificateSerial(renewed->cert);
  ASSERT_NE(new_serial, serial_before);
  std::optional<std::string> reloaded =
      adminRequest(*admin_port, trusting("admin.test"),
                   "POST /admin/reload HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n"
                   "Content-Length: 0\r\n\r\n",
                   &error);
  ASSERT_TRUE(hasStatus(reloaded, 200)) << reloaded.value_or(error);

  std::string serial_after;
  ASSERT_TRUE(hasStatus(adminRequest(*admin_port, trusting("admin.test"), getRequest("/healthz"),
                                     &error, &serial_after),
                        200))
      << error;
  EXPECT_EQ(serial_after, new_serial);

  // A key that does not match refuses the reload; the running certificate stays.
  ASSERT_TRUE(proxy_.dir != nullptr);
  const std::string broken =
      config("", 1, adminTls(CertificateFiles{renewed->cert, rsa_.key}, "", "token = \"t\"\n"));
  absl::StatusOr<nlohmann::json> refused = proxy_.reload(broken);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ((*refused)["event"], "config_reload_failed") << refused->dump();
  EXPECT_NE(refused->dump().find("admin.tls.certificates[0]"), std::string::npos)
      << refused->dump();
  std::string serial_kept;
  EXPECT_TRUE(hasStatus(adminRequest(*admin_port, trusting("admin.test"), getRequest("/healthz"),
                                     &error, &serial_kept),
                        200))
      << error;
  EXPECT_EQ(serial_kept, new_serial);
}

}  // namespace
}  // namespace sy::testing
