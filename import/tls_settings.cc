#include "import/tls_settings.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace sy::importer {
namespace {

struct TlsExplained {
  std::string_view name;
  bool ignored;  // true: nothing is lost; false: the feature is missing
  std::string_view reason;
};

// ssl_* directives with no key of their own in Switchyard.
constexpr TlsExplained kTlsWithoutKey[] = {
    {"ssl_prefer_server_ciphers", true, "the server's cipher order always wins in Switchyard"},
    {"ssl_session_cache", true,
     "Switchyard resumes sessions with tickets (session_ticket_rotation), no cache to size"},
    {"ssl_session_timeout", true, "ticket lifetime follows session_ticket_rotation"},
    {"ssl_dhparam", true, "Switchyard offers no DHE cipher suites"},
    {"ssl_buffer_size", true, "Switchyard sizes TLS records itself"},
    {"ssl_session_tickets", false, "Switchyard always issues session tickets"},
    {"ssl_session_ticket_key", false,
     "ticket keys are made in memory and rotated (session_ticket_rotation)"},
    {"ssl_stapling", false, "OCSP stapling is not supported yet"},
    {"ssl_stapling_verify", false, "OCSP stapling is not supported yet"},
    {"ssl_trusted_certificate", false, "OCSP stapling is not supported yet"},
    {"ssl_client_certificate", false, "client certificates on listeners are not supported"},
    {"ssl_verify_client", false, "client certificates on listeners are not supported"},
    {"ssl_verify_depth", false, "client certificates on listeners are not supported"},
    {"ssl_early_data", false, "TLS 1.3 early data (0-RTT) is not offered"},
    {"ssl_password_file", false,
     "keys must be unencrypted (Switchyard never asks for a passphrase)"},
    {"ssl", false, "obsolete in nginx: write `listen ... ssl`"},
};

std::string folderOf(const std::string& path) {
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return (error ? std::filesystem::path(path) : absolute).parent_path().lexically_normal().string();
}

// nginx reads a relative certificate path from the folder of its main configuration file.
std::optional<std::string> certificatePath(const NginxDirective& directive,
                                           const std::string& config_folder, Warnings& warnings) {
  if (directive.args.size() != 1) {
    warnings.unsupported(directive, "expected one file; left out");
    return std::nullopt;
  }
  const std::string& file = directive.args[0].text;
  if (file.find('$') != std::string::npos || file.rfind("data:", 0) == 0 ||
      file.rfind("engine:", 0) == 0) {
    warnings.unsupported(directive, "certificates must be files named in full; left out");
    return std::nullopt;
  }
  return file.front() == '/' ? file : config_folder + "/" + file;
}

void readProtocols(const NginxDirective& directive, TlsSettings& settings, Warnings& warnings) {
  bool tls12 = false;
  bool tls13 = false;
  bool older = false;
  for (const NginxArg& arg : directive.args) {
    tls12 |= arg.text == "TLSv1.2";
    tls13 |= arg.text == "TLSv1.3";
    older |=
        arg.text == "SSLv2" || arg.text == "SSLv3" || arg.text == "TLSv1" || arg.text == "TLSv1.1";
  }
  if (!tls12 && !tls13) {
    warnings.unsupported(directive, "Switchyard serves TLS 1.2 and 1.3 only; left out");
    return;
  }
  if (older) {
    warnings.approximated(directive, "SSL and TLS 1.0/1.1 are never served: TLS 1.2 and 1.3 only");
  }
  settings.min_version = tls12 ? "1.2" : "1.3";
}

template <class T>
void setShared(std::optional<T>& out, const std::optional<T>& value, const std::string& key,
               const ImportedListener& listener, const NginxDirective& server, Warnings& warnings) {
  if (!value) return;
  if (out && *out != *value) {
    warnings.approximated(server, "listener " + listener.name + " keeps tls." + key + " = " + *out +
                                      " (TLS settings are per address)");
    return;
  }
  out = value;
}

}  // namespace

bool readTlsSetting(const NginxDirective& directive, const std::string& config_file,
                    TlsSettings& settings, Warnings& warnings) {
  const std::string& name = directive.name;
  if (name == "http2") {
    settings.http2 = directive.args.size() == 1 && directive.args[0].text == "on";
    return true;
  }
  if (name == "ssl_certificate" || name == "ssl_certificate_key") {
    const bool is_cert = name == "ssl_certificate";
    std::vector<std::string>& list = is_cert ? settings.certificates : settings.keys;
    bool& set_here = is_cert ? settings.certificates_set_here : settings.keys_set_here;
    if (!set_here) list.clear();  // nginx: the server's lines replace the http block's
    set_here = true;
    if (std::optional<std::string> path =
            certificatePath(directive, folderOf(config_file), warnings)) {
      list.push_back(*path);
    }
    return true;
  }
  if (name == "ssl_protocols") {
    readProtocols(directive, settings, warnings);
    return true;
  }
  if (name == "ssl_ciphers" && directive.args.size() == 1) {
    settings.ciphers = directive.args[0].text;
    return true;
  }
  if (name == "ssl_ecdh_curve" && directive.args.size() == 1) {
    // "auto" is OpenSSL's default list, which Switchyard's default already is.
    if (directive.args[0].text != "auto") settings.curves = directive.args[0].text;
    return true;
  }
  if (name == "ssl_reject_handshake") {
    settings.reject_handshake = directive.args.size() == 1 && directive.args[0].text == "on";
    return true;
  }
  for (const TlsExplained& entry : kTlsWithoutKey) {
    if (entry.name != name) continue;
    if (entry.ignored) {
      warnings.ignored(directive, std::string(entry.reason));
    } else {
      warnings.unsupported(directive, std::string(entry.reason));
    }
    return true;
  }
  if (name.rfind("ssl_", 0) == 0) {
    warnings.unsupported(directive, "no Switchyard equivalent; left out");
    return true;
  }
  return false;
}

void applyTlsSettings(ImportedListener& listener, const TlsSettings& settings,
                      const ListenOptions& options, bool default_server,
                      const NginxDirective& server, Warnings& warnings) {
  // nginx serves h2 only where asked (`listen ... http2` or `http2 on`); the import keeps that,
  // on TLS listeners too, where Switchyard's own default would offer it.
  listener.http2 = listener.http2 || options.http2 || settings.http2;
  if (!options.ssl) return;
  if (!listener.tls) listener.tls = ImportedTls{};
  ImportedTls& tls = *listener.tls;
  if (settings.certificates.size() != settings.keys.size()) {
    warnings.unsupported(server,
                         "each ssl_certificate needs its ssl_certificate_key, in the same order; "
                         "unpaired ones left out");
  }
  const size_t pairs = std::min(settings.certificates.size(), settings.keys.size());
  if (pairs == 0 && !(default_server && settings.reject_handshake)) {
    warnings.unsupported(server,
                         "no ssl_certificate for this `listen ... ssl` (nginx refuses "
                         "it too); listener " +
                             listener.name + " has none from it");
  }
  for (size_t i = 0; i < pairs; ++i) {
    const bool known = std::any_of(
        tls.certificates.begin(), tls.certificates.end(),
        [&](const ImportedCertificate& c) { return c.cert == settings.certificates[i]; });
    if (!known) tls.certificates.push_back({settings.certificates[i], settings.keys[i]});
  }
  setShared(tls.min_version, settings.min_version, "min_version", listener, server, warnings);
  setShared(tls.ciphers, settings.ciphers, "ciphers", listener, server, warnings);
  setShared(tls.curves, settings.curves, "curves", listener, server, warnings);
  // The default server refusing handshakes is what strict_sni does: unknown names are refused.
  if (default_server && settings.reject_handshake) tls.strict_sni = true;
}

}  // namespace sy::importer
