#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace sy::tls {

// The Mozilla "intermediate" profile (https://ssl-config.mozilla.org/, guidelines 5.7 without
// the DHE suites, which need DH parameters and add nothing for clients that do ECDHE).
inline constexpr char kIntermediateCiphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr char kIntermediateCiphersuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr char kIntermediateCurves[] = "X25519:prime256v1:secp384r1";

enum class TlsVersion { k1_2, k1_3 };

// One certificate as configured: a PEM file with the leaf first and its intermediates after it,
// and the PEM private key that goes with the leaf.
struct CertificateFiles {
  std::string cert;
  std::string key;

  bool operator==(const CertificateFiles&) const = default;
};

// A listener's TLS settings as the configuration states them (no OpenSSL types: the
// configuration model includes this header). ServerContext turns them into SSL_CTXs.
struct ServerSettings {
  std::vector<CertificateFiles> certificates;  // the first is the default
  TlsVersion min_version = TlsVersion::k1_2;
  std::string ciphers = kIntermediateCiphers;            // TLS 1.2 (OpenSSL cipher list)
  std::string ciphersuites = kIntermediateCiphersuites;  // TLS 1.3
  std::string curves = kIntermediateCurves;
  // A client whose SNI name matches no certificate gets an unrecognized_name alert instead of
  // the default certificate. A client that sends no SNI at all always gets the default.
  bool strict_sni = false;
  // How long a session ticket key encrypts new tickets; the key before the current one still
  // decrypts, so a ticket resumes for one to two periods (tls/ticket_keys.h).
  absl::Duration session_ticket_rotation = absl::Hours(12);
  // Set: every client must present a certificate that verifies against the CAs in this PEM file,
  // or the handshake fails (client-certificate authentication; the admin API offers it).
  std::string client_ca;
  // ALPN offers h2 before http/1.1 (the listener's http2 key; not a key of the tls table).
  bool http2 = false;

  bool operator==(const ServerSettings&) const = default;
};

}  // namespace sy::tls
