#pragma once

#include <cstdio>

#include "routing/config/model.h"

namespace sy::proxy {

// `switchyard --check`: loads every TLS listener's certificates and keys, and every TLS pool's
// CA and client certificate, and the admin API's, as a start would; prints one line per
// listener and admin certificate (names,
// key type, expiry) to `out` and each error to `err`. Returns the number of listeners and pools
// whose TLS settings could not be used.
int checkCertificates(const routing::config::Config& config, std::FILE* out, std::FILE* err);

}  // namespace sy::proxy
