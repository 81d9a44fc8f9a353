#include "absl/status/statusor.h"
#include "routing/config/schemas.h"

namespace sy::routing::config {
namespace {

using tls::CertificateFiles;
using tls::ServerSettings;
using tls::TlsVersion;

absl::StatusOr<std::string> checkFilePath(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("expected a file path, got an empty string");
  return std::string(text);
}

// Cipher, suite and curve lists are checked by OpenSSL when the listener's contexts are built;
// here only what needs no OpenSSL: a list that is there at all.
absl::StatusOr<std::string> checkOpenSslList(std::string_view text) {
  if (text.find_first_not_of(" \t") == std::string_view::npos) {
    return absl::InvalidArgumentError("expected a colon-separated OpenSSL list, got nothing");
  }
  return std::string(text);
}

constexpr std::pair<std::string_view, TlsVersion> kVersions[] = {
    {"1.2", TlsVersion::k1_2},
    {"1.3", TlsVersion::k1_3},
};

}  // namespace

const TableSchema<CertificateFiles>& certificateSchema() {
  using C = CertificateFiles;
  static const TableSchema<C> schema{
      .fields =
          {
              required(parsedField("cert", &C::cert, checkFilePath),
                       "cert is required: the PEM file with the certificate and its chain"),
              required(parsedField("key", &C::key, checkFilePath),
                       "key is required: the PEM file with the certificate's private key"),
          },
  };
  return schema;
}

const TableSchema<ServerSettings>& listenerTlsSchema() {
  using S = ServerSettings;
  static const TableSchema<S> schema{
      .fields =
          {
              required(tableArrayField("certificates", &S::certificates, certificateSchema,
                                       "{ cert = \"FILE\", key = \"FILE\" }"),
                       "certificates is required: a TLS listener needs at least one "
                       "{ cert = \"FILE\", key = \"FILE\" }"),
              choiceField("min_version", &S::min_version,
                          std::vector(std::begin(kVersions), std::end(kVersions))),
              parsedField("ciphers", &S::ciphers, checkOpenSslList),
              parsedField("ciphersuites", &S::ciphersuites, checkOpenSslList),
              parsedField("curves", &S::curves, checkOpenSslList),
              boolField("strict_sni", &S::strict_sni),
              durationField("session_ticket_rotation", &S::session_ticket_rotation,
                            absl::Seconds(1), absl::Hours(7 * 24)),
          },
  };
  return schema;
}

const TableSchema<ServerSettings>& adminTlsSchema() {
  static const TableSchema<ServerSettings> schema = [] {
    TableSchema<ServerSettings> admin = listenerTlsSchema();
    admin.fields.push_back(parsedField("client_ca", &ServerSettings::client_ca, checkFilePath));
    return admin;
  }();
  return schema;
}

const TableSchema<tls::ClientSettings>& poolTlsSchema() {
  using C = tls::ClientSettings;
  static const TableSchema<C> schema{
      .fields =
          {
              stringField("sni", &C::sni),
              parsedField("ca", &C::ca, checkFilePath),
              boolField("verify", &C::verify),
              parsedField("cert", &C::cert, checkFilePath),
              parsedField("key", &C::key, checkFilePath),
          },
      .check =
          [](const toml::table& table, const std::string& key, C& out, ErrorSink& sink) {
            // A client certificate needs its key and the other way round.
            if (out.cert.empty() != out.key.empty() && !sink.hasErrorAt(childKey(key, "cert")) &&
                !sink.hasErrorAt(childKey(key, "key"))) {
              sink.add(positionOf(table), childKey(key, out.cert.empty() ? "cert" : "key"),
                       "cert and key go together: a client certificate needs both");
            }
          },
  };
  return schema;
}

}  // namespace sy::routing::config
