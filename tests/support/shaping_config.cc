#include "tests/support/shaping_config.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::testing {

std::string shapingConfig(std::string_view head, uint16_t backend_port) {
  return absl::StrCat(core::toAbsl(head), R"(
[[pools]]
name = "app"
backends = ["127.0.0.1:)",
                      backend_port, R"("]

[[routes]]
name = "headers"
path_prefix = "/echo"
pool = "app"
request_headers = { set = { "X-Env" = "prod", "X-Forwarded-Proto" = "https", "X-Seen" = "{client_ip} {scheme} {host} {path} {route} {pool} [{request_id}]" }, add = { "X-Multi" = "added" }, remove = ["X-Debug", "X-Real-IP"] }
response_headers = { set = { "X-Served-By" = "{backend}", "Content-Type" = "text/x-test" }, add = { "X-Route" = "{route}/{pool}" }, remove = ["X-Backend"] }

[[routes]]
name = "api"
path_prefix = "/api/"
pool = "app"
strip_prefix = "/api"

[[routes]]
name = "versioned"
path_prefix = "/ver/"
pool = "app"
strip_prefix = "/ver"
add_prefix = "/status"

[[routes]]
name = "old"
path_prefix = "/old/"
pool = "app"
rewrite = { pattern = "^/old/(\\w+)/(.*)$", replacement = "/\\2" }

[[routes]]
name = "moved"
path_prefix = "/moved/"
redirect = { status = 308, location = "{scheme}://new.example{path}" }
response_headers = { set = { "X-Moved-By" = "{route}" } }

[[routes]]
name = "temporary"
path_prefix = "/tmp/"
redirect = { location = "https://{host}/elsewhere?from={path}" }

[[routes]]
name = "maintenance"
path_prefix = "/down/"
respond = { status = 503, body = "back soon\n", content_type = "text/plain" }

[[routes]]
name = "gone"
path_prefix = "/gone"
respond = { status = 410 }

[[routes]]
name = "default"
pool = "app"
)");
}

}  // namespace sy::testing
