#include "absl/strings/str_cat.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

constexpr std::pair<std::string_view, RequestIdMode> kListenerRequestIdModes[] = {
    {"if_absent", RequestIdMode::kIfAbsent},
    {"always", RequestIdMode::kAlways},
};

constexpr std::pair<std::string_view, PathNormalization> kPathNormalizations[] = {
    {"forward", PathNormalization::kForward},
    {"reject", PathNormalization::kReject},
};

// The header names the client for every limit and for the backends: believed from anyone, it
// would let every client pick its own address. nginx and HAProxy do believe anyone (and leave
// the filtering to a firewall); here the list of senders is required, so that a listener cannot
// trust the whole Internet by omission. Trusting every peer stays possible, in writing:
// trusted_proxies = ["0.0.0.0/0", "::/0"].
void checkProxyProtocol(const toml::table& table, const std::string& key,
                        const ListenerConfig& listener, ErrorSink& sink) {
  const toml::node* flag = table.get("proxy_protocol");
  if (flag == nullptr || !listener.proxy_protocol || !listener.trusted_proxies.empty() ||
      sink.hasErrorAt(childKey(key, "trusted_proxies"))) {
    return;
  }
  sink.add(positionOf(*flag), childKey(key, "proxy_protocol"),
           "proxy_protocol = true needs trusted_proxies: list the addresses of the proxies that "
           "send the header (to accept it from anyone, [\"0.0.0.0/0\", \"::/0\"])");
}

// The redirect is for a plain listener in front of an HTTPS one; on a TLS listener it would
// send clients in a loop to itself. https_port only means something with the redirect.
void checkRedirect(const toml::table& table, const std::string& key, const ListenerConfig& listener,
                   ErrorSink& sink) {
  const toml::node* redirect = table.get("redirect_to_https");
  if (redirect != nullptr && listener.redirect_to_https && listener.tls.has_value()) {
    sink.add(positionOf(*redirect), childKey(key, "redirect_to_https"),
             "redirect_to_https is for plain HTTP listeners; this one has tls and already speaks "
             "HTTPS (redirect from a second, plain listener)");
  }
  const toml::node* port = table.get("https_port");
  if (port != nullptr && !listener.redirect_to_https &&
      !sink.hasErrorAt(childKey(key, "https_port"))) {
    sink.add(positionOf(*port), childKey(key, "https_port"),
             "https_port needs redirect_to_https = true in the same table");
  }
}

}  // namespace

void checkRateLimitBurst(const toml::table& table, const std::string& key, bool rate_limited,
                         ErrorSink& sink) {
  const toml::node* burst = table.get("rate_limit_burst");
  if (burst == nullptr || rate_limited || sink.hasErrorAt(childKey(key, "rate_limit")) ||
      sink.hasErrorAt(childKey(key, "rate_limit_burst"))) {
    return;
  }
  sink.add(positionOf(*burst), childKey(key, "rate_limit_burst"),
           "rate_limit_burst needs rate_limit above 0 in the same table");
}

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
              integerField("max_connections", &L::max_connections, 0, 10000000),
              integerField("max_connections_per_ip", &L::max_connections_per_ip, 0, 1000000),
              numberField("rate_limit", &L::rate_limit, 0.0, 1000000.0),
              integerField("rate_limit_burst", &L::rate_limit_burst, 1, 1000000),
              integerField("client_table_size", &L::client_table_size, 1024, 100000000),
              stringListField("trusted_proxies", &L::trusted_proxies, normalizeCidr),
              boolField("proxy_protocol", &L::proxy_protocol),
              boolField("http2", &L::http2),
              integerField("http2_max_concurrent_streams", &L::http2_max_concurrent_streams, 1,
                           10000),
              integerField("http2_max_header_list_size", &L::http2_max_header_list_size, 1024,
                           1048576),
              integerField("http2_hpack_table_size", &L::http2_hpack_table_size, 0, 65536),
              integerField("http2_response_hpack_table_size", &L::http2_response_hpack_table_size,
                           0, 65536),
              integerField("http2_max_resets", &L::http2_max_resets, 1, 1000000),
              durationField("http2_reset_interval", &L::http2_reset_interval, absl::Seconds(1),
                            absl::Hours(1)),
              durationField("http2_stall_timeout", &L::http2_stall_timeout, absl::Milliseconds(100),
                            absl::Hours(1)),
              tableField("tls", &L::tls, listenerTlsSchema),
              boolField("redirect_to_https", &L::redirect_to_https),
              integerField("https_port", &L::https_port, 1, 65535),
              byteSizeField("max_body", &L::max_body),
              parsedField("request_id", &L::request_id, checkRequestIdHeader),
              choiceField("request_id_mode", &L::request_id_mode,
                          std::vector(std::begin(kListenerRequestIdModes),
                                      std::end(kListenerRequestIdModes))),
          },
      .prepare =
          [](const toml::table& table, size_t index, L& out) {
            out.position = positionOf(table);
            out.name = absl::StrCat("listener", index);
          },
      .check =
          [](const toml::table& table, const std::string& key, L& out, ErrorSink& sink) {
            checkRateLimitBurst(table, key, out.rate_limit > 0, sink);
            checkProxyProtocol(table, key, out, sink);
            checkRedirect(table, key, out, sink);
            // Unset, http2 follows tls: browsers and CDNs expect h2 from a TLS edge (as Caddy,
            // Traefik and HAProxy 2.8+ offer it), while h2c with prior knowledge on a plain
            // listener is for sidecars and is asked for.
            if (!table.contains("http2")) out.http2 = out.tls.has_value();
          },
  };
  return schema;
}

}  // namespace sy::routing::config
