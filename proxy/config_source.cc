#include "proxy/config_source.h"

namespace sy::proxy {

routing::config::LoadResult ConfigSource::load() const {
  if (path.empty()) return routing::config::parseConfigText(embedded_text, embedded_name);
  return routing::config::loadConfigFile(path);
}

}  // namespace sy::proxy
