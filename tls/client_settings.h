#pragma once

#include <string>

namespace sy::tls {

// TLS to a pool's backends as the configuration states it (no OpenSSL types: the configuration
// model includes this header). ClientContext turns it into an SSL_CTX.
struct ClientSettings {
  // The name sent in SNI and checked against the backend's certificate; empty: no SNI, and the
  // certificate must name the backend's IP address.
  std::string sni;
  std::string ca;      // PEM file of trusted CAs; empty: the system's store
  bool verify = true;  // false: any certificate is accepted (encryption without authentication)
  std::string cert;    // client certificate (+ chain) for mutual TLS; empty: none
  std::string key;     // its private key

  bool operator==(const ClientSettings&) const = default;
};

}  // namespace sy::tls
