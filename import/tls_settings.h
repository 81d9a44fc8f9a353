#pragma once

// The ssl_* and http2 directives of the http and server levels, read into TlsSettings (inherited
// by servers like the other settings), and a listener's `tls` table and `http2` key made from
// them where a server listens with `ssl`.

#include <optional>
#include <string>
#include <vector>

#include "import/import_warnings.h"
#include "import/nginx_ast.h"
#include "import/switchyard_model.h"

namespace sy::importer {

struct TlsSettings {
  std::vector<std::string> certificates;  // ssl_certificate, in order, absolute paths
  std::vector<std::string> keys;          // ssl_certificate_key, in order, absolute paths
  bool certificates_set_here = false;     // a server's own lines replace the http level's
  bool keys_set_here = false;
  std::optional<std::string> min_version;  // ssl_protocols
  std::optional<std::string> ciphers;      // ssl_ciphers
  std::optional<std::string> curves;       // ssl_ecdh_curve
  bool reject_handshake = false;           // ssl_reject_handshake on
  bool http2 = false;                      // http2 on (nginx 1.25.1 and later)

  TlsSettings inherited() const {
    TlsSettings child = *this;
    child.certificates_set_here = false;
    child.keys_set_here = false;
    return child;
  }
};

// Reads `directive` into `settings` when it is an ssl_* directive or `http2`; false when it is
// not. `config_file` is the main nginx file: nginx reads relative certificate paths from its
// folder.
bool readTlsSetting(const NginxDirective& directive, const std::string& config_file,
                    TlsSettings& settings, Warnings& warnings);

// What one server's `listen` line asked of its address.
struct ListenOptions {
  bool ssl = false;
  bool http2 = false;
};

// Gives `listener` its tls table and http2 key from the server `server` that listens on it with
// `options`. Several servers on one address share the listener: their certificates are all
// served (SNI picks one), the other keys are the first server's.
void applyTlsSettings(ImportedListener& listener, const TlsSettings& settings,
                      const ListenOptions& options, bool default_server,
                      const NginxDirective& server, Warnings& warnings);

}  // namespace sy::importer
