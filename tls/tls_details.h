#pragma once

#include <string_view>

namespace sy::tls {

// What a TLS handshake settled, for the access log (empty on a plain connection). The
// views point into the connection's SSL object: valid while the connection lives.
struct TlsDetails {
  std::string_view version;  // "TLSv1.3"
  std::string_view cipher;   // "TLS_AES_128_GCM_SHA256"
  std::string_view alpn;     // "http/1.1", or empty when the client offered none
  std::string_view sni;      // the name the client asked for, or empty
  bool resumed = false;
};

}  // namespace sy::tls
