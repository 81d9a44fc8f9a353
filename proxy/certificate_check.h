#pragma once

#include <cstdio>

#include "routing/config/model.h"

namespace sy::proxy {

// `switchyard --check`: loads every TLS listener's certificates and keys as a start would,
// prints one line per certificate (names, key type, expiry) to `out` and each error to `err`.
// Returns the number of listeners whose certificates could not be used.
int checkCertificates(const routing::config::Config& config, std::FILE* out, std::FILE* err);

}  // namespace sy::proxy
