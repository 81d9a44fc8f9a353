#include "tests/support/tls_fixture.h"

#include "absl/strings/str_cat.h"

namespace sy::testing {

std::unique_ptr<TestCertificates> TlsProxyTest::certificates_;
CertificateFiles TlsProxyTest::rsa_;
CertificateFiles TlsProxyTest::ecdsa_;
CertificateFiles TlsProxyTest::wildcard_;

std::string certificateEntry(const CertificateFiles& files) {
  return absl::StrCat("{ cert = \"", files.cert, "\", key = \"", files.key, "\" }");
}

void TlsProxyTest::SetUpTestSuite() {
  auto created = TestCertificates::create();
  ASSERT_TRUE(created.ok()) << created.status();
  certificates_ = std::move(*created);
  auto rsa = certificates_->issue("rsa", KeyType::kRsa, {"www.example.com", "example.com"});
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  auto ecdsa = certificates_->issue("ecdsa", KeyType::kEcdsa, {"www.example.com", "example.com"});
  ASSERT_TRUE(ecdsa.ok()) << ecdsa.status();
  auto wildcard = certificates_->issue("wildcard", KeyType::kRsa, {"*.other.test"});
  ASSERT_TRUE(wildcard.ok()) << wildcard.status();
  rsa_ = *rsa;
  ecdsa_ = *ecdsa;
  wildcard_ = *wildcard;
}

void TlsProxyTest::SetUp() {
  ASSERT_NE(certificates_, nullptr);
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
}

std::string TlsProxyTest::tlsListener(const std::string& name, const std::string& tls_extra,
                                      const std::string& listener_extra) const {
  return absl::StrCat("[[listeners]]\nname = \"", name,
                      "\"\nlisten = \"127.0.0.1:0\"\nheader_timeout = \"500ms\"\n", listener_extra,
                      "tls = { certificates = [ ", certificateEntry(rsa_), ", ",
                      certificateEntry(ecdsa_), ", ", certificateEntry(wildcard_), " ]", tls_extra,
                      " }\n\n");
}

std::string TlsProxyTest::config(const std::string& tls_extra, int workers,
                                 const std::string& extra) const {
  return absl::StrCat("[server]\nworkers = ", workers, "\n\n", tlsListener("https", tls_extra),
                      "[[pools]]\nname = \"app\"\nbackends = ", backendList({backendPort(0)}),
                      "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n", extra);
}

TlsClientOptions TlsProxyTest::trusting(const std::string& sni) const {
  TlsClientOptions options;
  options.sni = sni;
  options.ca_file = certificates_->rootCa();
  return options;
}

std::optional<std::string> TlsProxyTest::get(TlsClient& client, const std::string& path,
                                             const std::string& host) {
  if (!client.send(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n"))) {
    return std::nullopt;
  }
  return client.readResponse();
}

}  // namespace sy::testing
