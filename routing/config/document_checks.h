#pragma once

#include "routing/config/error_sink.h"
#include "routing/config/model.h"
#include "toml++/toml.h"

namespace sy::routing::config {

// Rules that span tables or sections: unique names and addresses, and routes that name a pool
// that exists. Runs after every table has been read; `root` is only used to find where a value
// was written.
void checkDocument(const toml::table& root, const Config& config, ErrorSink& sink);

}  // namespace sy::routing::config
