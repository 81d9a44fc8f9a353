#include "absl/strings/str_cat.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

constexpr std::pair<std::string_view, PathNormalization> kPathNormalizations[] = {
    {"forward", PathNormalization::kForward},
    {"reject", PathNormalization::kReject},
};

}  // namespace

const TableSchema<ListenerConfig>& listenerSchema() {
  using L = ListenerConfig;
  static const TableSchema<L> schema{
      .fields =
          {
              parsedField("name", &L::name, checkName),
              required(addressField("listen", &L::listen_text, &L::listen, PortZero::kAllowed)),
              durationField("header_timeout", &L::header_timeout, absl::Milliseconds(1),
                            absl::Hours(1)),
              durationField("keepalive_timeout", &L::keepalive_timeout, absl::Milliseconds(1),
                            absl::Hours(1)),
              durationField("client_timeout", &L::client_timeout, absl::Milliseconds(1),
                            absl::Hours(24)),
              integerField("max_url_bytes", &L::max_url_bytes, 256, 1048576),
              integerField("max_header_bytes", &L::max_header_bytes, 1024, 1048576),
              integerField("max_headers", &L::max_headers, 1, 1000),
              integerField("backlog", &L::backlog, 1, 65535),
              boolField("abort_on_client_close", &L::abort_on_client_close),
              choiceField(
                  "path_normalization", &L::path_normalization,
                  std::vector(std::begin(kPathNormalizations), std::end(kPathNormalizations))),
              boolField("merge_slashes", &L::merge_slashes),
              boolField("allow_encoded_slash", &L::allow_encoded_slash),
          },
      .prepare =
          [](const toml::table& table, size_t index, L& out) {
            out.position = positionOf(table);
            out.name = absl::StrCat("listener", index);
          },
  };
  return schema;
}

}  // namespace sy::routing::config
