#pragma once

// What the HTTPS listener tests share: certificates made once per test suite (an RSA and an
// ECDSA leaf for www.example.com and example.com, a wildcard for *.other.test, all issued under
// the suite's private CA), a configuration with one TLS listener, and TLS client helpers.

#include <memory>
#include <optional>
#include <string>

#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"

namespace sy::testing {

// `{ cert = "...", key = "..." }`, an element of a listener's tls.certificates.
std::string certificateEntry(const CertificateFiles& files);

class TlsProxyTest : public ProxyTest {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite() { certificates_.reset(); }
  // Starts the demo backend "blue" (backendPort(0)).
  void SetUp() override;

  // One TLS listener "https" with the three certificates (RSA first: the default), `workers`
  // workers, one pool "app" (backend "blue") and one route "default". `tls_extra` goes inside
  // the tls table (", strict_sni = true"), `extra` after the route.
  std::string config(const std::string& tls_extra = "", int workers = 1,
                     const std::string& extra = "") const;
  // The listener part of config() alone (for tests that write their own pools and routes).
  std::string tlsListener(const std::string& name = "https", const std::string& tls_extra = "",
                          const std::string& listener_extra = "") const;

  // Client options that verify the chain against the suite's root and send `sni`.
  TlsClientOptions trusting(const std::string& sni) const;
  // GET `path` on `client` (keep-alive); the response as received, or nullopt.
  static std::optional<std::string> get(TlsClient& client, const std::string& path,
                                        const std::string& host = "www.example.com");

  static std::unique_ptr<TestCertificates> certificates_;
  static CertificateFiles rsa_;
  static CertificateFiles ecdsa_;
  static CertificateFiles wildcard_;
};

}  // namespace sy::testing
