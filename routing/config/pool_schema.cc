#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/net_address.h"
#include "core/strings.h"
#include "routing/config/schemas.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

// The first one is the default.
constexpr std::pair<std::string_view, BalancerKind> kBalancers[] = {
    {"round_robin", BalancerKind::kRoundRobin},
    {"least_request", BalancerKind::kLeastRequest},
    {"hash", BalancerKind::kHash},
};

constexpr std::string_view kBackendForms =
    "\"host:port\" or { address = \"host:port\", weight = N }";

// A backend's address in a pool with `resolve = true`: an IP literal as anywhere else, or
// "name:port", kept unresolved for the control thread to follow (routing/followed_backends.h).
void readFollowedAddress(const toml::node& node, const std::string& key, BackendConfig& out,
                         ErrorSink& sink) {
  std::optional<std::string> text =
      readString(node, key, sink, "an address \"name:port\" such as \"api.internal:8080\"");
  if (!text) return;
  if (absl::StatusOr<core::NetAddress> literal = core::NetAddress::parse(*text, false);
      literal.ok()) {
    if (literal->port() == 0) {
      sink.add(positionOf(node), key,
               absl::StrCat(inQuotes(*text), " has port 0: expected a port between 1 and 65535"));
      return;
    }
    out.address_text = *text;
    out.address = *literal;
    return;
  }
  const size_t colon = text->rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(core::toAbsl(std::string_view(*text).substr(colon + 1)), &port) ||
      port == 0 || port > 65535) {
    sink.add(positionOf(node), key,
             absl::StrCat(inQuotes(*text), " is not \"name:port\" with a port from 1 to 65535"));
    return;
  }
  absl::StatusOr<std::string> host = checkDnsName(std::string_view(*text).substr(0, colon));
  if (!host.ok()) {
    sink.add(positionOf(node), key, std::string(host.status().message()));
    return;
  }
  out.address_text = *text;
  out.host = *host;
  out.port = static_cast<uint16_t>(port);
}

constexpr std::string_view kSrvForm = "an SRV record name \"_service._proto.name\"";

// `srv` in a pool with `resolve = true`: the name of an SRV record ("_http._tcp.api.internal"),
// whose targets' addresses, ports and weights the control thread follows.
void readSrvName(const toml::node& node, const std::string& key, BackendConfig& out,
                 ErrorSink& sink) {
  std::optional<std::string> text =
      readString(node, key, sink,
                 absl::StrCat(core::toAbsl(kSrvForm), " such as \"_http._tcp.api.internal\""));
  if (!text) return;
  absl::StatusOr<std::string> name = checkDnsName(*text);
  std::vector<absl::string_view> labels =
      absl::StrSplit(absl::StripSuffix(core::toAbsl(*text), "."), '.');
  // RFC 2782: the service and the protocol, each with a leading underscore, then the domain.
  bool ok = name.ok() && labels.size() >= 3;
  for (size_t i = 0; ok && i < labels.size(); ++i) {
    ok = labels[i].size() > (i < 2 ? 1 : 0) && (i >= 2 || labels[i].front() == '_');
  }
  if (!ok) {
    sink.add(positionOf(node), key,
             absl::StrCat(inQuotes(*text), " is not ", core::toAbsl(kSrvForm),
                          " such as \"_http._tcp.api.internal\""));
    return;
  }
  out.address_text = *text;
  out.srv = *text;
}

const TableSchema<BackendConfig>& followedBackendSchema() {
  static const TableSchema<BackendConfig> schema{
      .fields =
          {
              Field<BackendConfig>{"address", readFollowedAddress},
              Field<BackendConfig>{"srv", readSrvName},
              integerField("weight", &BackendConfig::weight, 1, 1000),
          },
      .check =
          [](const toml::table& table, const std::string& key, BackendConfig&, ErrorSink& sink) {
            const toml::node* srv = table.get("srv");
            if (srv == nullptr) {
              if (!table.contains("address")) {
                sink.add(positionOf(table), childKey(key, "address"),
                         "required: expected \"name:port\", or srv = \"_service._proto.name\" "
                         "for an SRV record");
              }
              return;
            }
            if (table.contains("address")) {
              sink.add(positionOf(*srv), childKey(key, "srv"),
                       "give either address or srv, not both: the SRV record gives the addresses");
            }
            if (const toml::node* weight = table.get("weight")) {
              // Silently overriding the record's weights would be a surprise either way.
              sink.add(positionOf(*weight), childKey(key, "weight"),
                       "not used with srv: the SRV record gives each target's weight");
            }
          },
  };
  return schema;
}

// Reads one element of `backends`: a plain "host:port" string or a table with address and
// weight. Returns the node holding the address, for the duplicate check, or null on error.
// In a pool that follows DNS (`resolve`), names stay unresolved.
const toml::node* readBackend(const toml::node& element, const std::string& key, size_t index,
                              bool resolve, BackendConfig& out, ErrorSink& sink) {
  out.position = positionOf(element);
  if (resolve) {
    if (element.is_string()) {
      readFollowedAddress(element, key, out, sink);
      return out.address_text.empty() ? nullptr : &element;
    }
    if (const toml::table* table = element.as_table()) {
      readTable(*table, key, index, followedBackendSchema(), out, sink);
      if (out.address_text.empty() || sink.hasErrorAt(key)) return nullptr;
      return table->get(out.srv.empty() ? "address" : "srv");
    }
  } else if (const toml::table* table = element.as_table(); table && table->contains("srv")) {
    sink.add(positionOf(*table->get("srv")), childKey(key, "srv"),
             "only used in a pool with resolve = true (the pool follows the SRV record in DNS)");
    return nullptr;
  }
  if (element.is_string()) {
    std::optional<AddressValue> address = readAddress(element, key, PortZero::kRejected, sink);
    if (!address) return nullptr;
    out.address_text = std::move(address->text);
    out.address = address->address;
    return &element;
  }
  if (const toml::table* table = element.as_table()) {
    readTable(*table, key, index, backendSchema(), out, sink);
    return out.address.valid() ? table->get("address") : nullptr;
  }
  sink.add(
      positionOf(element), key,
      absl::StrCat("expected ", core::toAbsl(kBackendForms), ", got ", describeValue(element)));
  return nullptr;
}

void readBackends(const toml::node& node, const std::string& key, PoolConfig& out,
                  ErrorSink& sink) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    sink.add(positionOf(node), key,
             absl::StrCat("expected an array of backends, each ", core::toAbsl(kBackendForms),
                          ", got ", describeValue(node)));
    return;
  }
  if (array->empty()) {
    sink.add(positionOf(node), key, "expected at least one backend, got an empty array");
    return;
  }
  std::vector<BackendConfig> backends;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string element_key = indexKey(key, i);
    BackendConfig backend;
    const toml::node* address_node =
        readBackend((*array)[i], element_key, i, out.resolve, backend, sink);
    if (address_node == nullptr) continue;
    // The same backend twice would silently double its share of the traffic.
    for (size_t j = 0; j < backends.size(); ++j) {
      const bool by_name = backends[j].followed() || backend.followed();
      if (by_name ? backends[j].address_text == backend.address_text
                  : backends[j].address == backend.address) {
        sink.add(
            positionOf(*address_node),
            address_node == &(*array)[i]
                ? element_key
                : childKey(element_key, backend.srv.empty() ? "address" : "srv"),
            backend.srv.empty()
                ? absl::StrCat("duplicate backend ", inQuotes(backend.address_text),
                               ": same address as ", inQuotes(backends[j].address_text),
                               " on line ", backends[j].position.line,
                               "; use weight to give it more traffic")
                : absl::StrCat("duplicate backend ", inQuotes(backend.address_text),
                               ": the same SRV record is on line ", backends[j].position.line));
        break;
      }
    }
    backends.push_back(std::move(backend));
  }
  out.backends = std::move(backends);
}

// For the hash_key rule: the balancer as written (absent means round_robin), or null when it is
// not one we know and has already been reported.
const std::pair<std::string_view, BalancerKind>* writtenBalancer(const toml::table& table) {
  const toml::node* node = table.get("balancer");
  const std::string_view text =
      node == nullptr ? kBalancers[0].first : node->value_or(std::string_view());
  for (const auto& balancer : kBalancers) {
    if (balancer.first == text) return &balancer;
  }
  return nullptr;
}

void checkHashKey(const toml::table& table, const std::string& key, PoolConfig&, ErrorSink& sink) {
  const auto* balancer = writtenBalancer(table);
  if (balancer == nullptr) return;
  const toml::node* hash_key = table.get("hash_key");
  const std::string hash_key_key = childKey(key, "hash_key");
  const bool is_hash = balancer->second == BalancerKind::kHash;
  if (is_hash && hash_key == nullptr) {
    sink.add(positionOf(table), hash_key_key,
             "required when balancer = \"hash\": expected \"header:NAME\", \"cookie:NAME\" or "
             "\"client_ip\"");
  } else if (!is_hash && hash_key != nullptr) {
    // Accepting it silently would let someone believe requests are sticky when they are not.
    sink.add(positionOf(*hash_key), hash_key_key,
             absl::StrCat("only used with balancer = \"hash\", but this pool's balancer is ",
                          inQuotes(balancer->first)));
  }
}

constexpr std::pair<std::string_view, HealthCheckConfig::Type> kCheckTypes[] = {
    {"http", HealthCheckConfig::Type::kHttp},
    {"tcp", HealthCheckConfig::Type::kTcp},
};

constexpr std::pair<std::string_view, AllDownPolicy> kAllDownPolicies[] = {
    {"fail", AllDownPolicy::kFail},
    {"panic", AllDownPolicy::kPanic},
};

// "200", "200-399": each element of expected_statuses.
void readStatuses(const toml::node& node, const std::string& key, HealthCheckConfig& out,
                  ErrorSink& sink) {
  const toml::array* array = node.as_array();
  if (array == nullptr || array->empty()) {
    sink.add(positionOf(node), key,
             absl::StrCat("expected a non-empty array of statuses such as [200, \"300-399\"], got ",
                          describeValue(node)));
    return;
  }
  std::vector<std::pair<int, int>> ranges;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = (*array)[i];
    const std::string element_key = indexKey(key, i);
    if (element.is_integer()) {
      if (auto code = readInteger(element, element_key, 100, 599, sink)) {
        ranges.emplace_back(static_cast<int>(*code), static_cast<int>(*code));
      }
      continue;
    }
    auto text = readString(element, element_key, sink, "a status (200) or a range (\"200-399\")");
    if (!text) continue;
    auto range = parseStatusRange(*text);
    if (!range.ok()) {
      sink.add(positionOf(element), element_key, std::string(range.status().message()));
      continue;
    }
    ranges.push_back(*range);
  }
  out.statuses = std::move(ranges);
}

}  // namespace

const TableSchema<HealthCheckConfig>& healthCheckSchema() {
  using H = HealthCheckConfig;
  static const TableSchema<H> schema{
      .fields =
          {
              choiceField("type", &H::type,
                          std::vector(std::begin(kCheckTypes), std::end(kCheckTypes))),
              parsedField("path", &H::path, checkPathPrefix),
              parsedField("method", &H::method, checkMethod),
              stringField("host", &H::host),
              Field<H>{"expected_statuses", readStatuses},
              stringField("body_contains", &H::body_contains),
              durationField("interval", &H::interval, absl::Milliseconds(10), absl::Hours(1)),
              durationField("timeout", &H::timeout, absl::Milliseconds(1), absl::Minutes(10)),
              durationField("jitter", &H::jitter, absl::ZeroDuration(), absl::Hours(1)),
              integerField("healthy_threshold", &H::healthy_threshold, 1, 100),
              integerField("unhealthy_threshold", &H::unhealthy_threshold, 1, 100),
              boolField("traffic_before_first_check", &H::traffic_before_first_check),
          },
      .check =
          [](const toml::table& table, const std::string& key, H& out, ErrorSink& sink) {
            if (out.type == H::Type::kTcp) {
              // Settings of the HTTP probe do nothing for a TCP check: say so instead of
              // letting someone believe their path is being checked.
              for (std::string_view http_only :
                   {"path", "method", "host", "expected_statuses", "body_contains"}) {
                if (const toml::node* node = table.get(http_only)) {
                  sink.add(positionOf(*node), childKey(key, http_only),
                           "only used by type = \"http\" checks; this one is \"tcp\"");
                }
              }
            }
          },
  };
  return schema;
}

const TableSchema<OutlierDetectionConfig>& outlierDetectionSchema() {
  using O = OutlierDetectionConfig;
  static const TableSchema<O> schema{
      .fields =
          {
              integerField("consecutive_failures", &O::consecutive_failures, 0, 1000),
              durationField("base_ejection_time", &O::base_ejection_time, absl::Milliseconds(1),
                            absl::Hours(24)),
              durationField("max_ejection_time", &O::max_ejection_time, absl::Milliseconds(1),
                            absl::Hours(24)),
              integerField("max_ejection_percent", &O::max_ejection_percent, 0, 100),
          },
      .check =
          [](const toml::table& table, const std::string& key, O& out, ErrorSink& sink) {
            if (out.max_ejection_time < out.base_ejection_time &&
                !sink.hasErrorAt(childKey(key, "max_ejection_time"))) {
              const toml::node* node = table.get("max_ejection_time");
              sink.add(node != nullptr ? positionOf(*node) : positionOf(table),
                       childKey(key, "max_ejection_time"), "must be at least base_ejection_time");
            }
          },
  };
  return schema;
}

const TableSchema<BackendConfig>& backendSchema() {
  static const TableSchema<BackendConfig> schema{
      .fields = {
          required(addressField("address", &BackendConfig::address_text, &BackendConfig::address,
                                PortZero::kRejected)),
          integerField("weight", &BackendConfig::weight, 1, 1000),
      }};
  return schema;
}

const TableSchema<PoolConfig>& poolSchema() {
  using P = PoolConfig;
  static const TableSchema<P> schema{
      .fields =
          {
              required(parsedField("name", &P::name, checkName)),
              choiceField("balancer", &P::balancer,
                          std::vector(std::begin(kBalancers), std::end(kBalancers))),
              parsedField("hash_key", &P::hash_key, parseHashKey),
              durationField("connect_timeout", &P::connect_timeout, absl::Milliseconds(1),
                            absl::Hours(1)),
              durationField("response_timeout", &P::response_timeout, absl::Milliseconds(1),
                            absl::Hours(24)),
              durationField("idle_timeout", &P::idle_timeout, absl::Milliseconds(1),
                            absl::Hours(24)),
              durationField("keepalive_timeout", &P::keepalive_timeout, absl::Milliseconds(1),
                            absl::Hours(1)),
              integerField("keepalive_max_idle", &P::keepalive_max_idle, 0, 10000),
              required(Field<P>{"backends", readBackends}),
              tableField("health_check", &P::health_check, healthCheckSchema),
              tableField("outlier_detection", &P::outlier_detection, outlierDetectionSchema),
              tableField("tls", &P::tls, poolTlsSchema),
              choiceField("when_all_down", &P::when_all_down,
                          std::vector(std::begin(kAllDownPolicies), std::end(kAllDownPolicies))),
              boolField("resolve", &P::resolve),
              durationField("resolve_min_interval", &P::resolve_min_interval,
                            absl::Milliseconds(100), absl::Hours(24)),
              durationField("resolve_max_interval", &P::resolve_max_interval,
                            absl::Milliseconds(100), absl::Hours(24)),
          },
      .prepare =
          [](const toml::table& table, size_t, P& out) {
            out.position = positionOf(table);
            // `backends` reads names differently when the pool follows DNS, whatever the order
            // of the keys (a wrong type is reported by the field itself).
            out.resolve = table["resolve"].value_or(false);
          },
      .check =
          [](const toml::table& table, const std::string& key, P& out, ErrorSink& sink) {
            checkHashKey(table, key, out, sink);
            if (out.resolve_max_interval < out.resolve_min_interval &&
                !sink.hasErrorAt(childKey(key, "resolve_max_interval"))) {
              const toml::node* node = table.get("resolve_max_interval");
              sink.add(node != nullptr ? positionOf(*node) : positionOf(table),
                       childKey(key, "resolve_max_interval"),
                       "must be at least resolve_min_interval");
            }
            if (!out.resolve) {
              for (std::string_view only : {"resolve_min_interval", "resolve_max_interval"}) {
                if (const toml::node* node = table.get(only)) {
                  sink.add(positionOf(*node), childKey(key, only), "only used with resolve = true");
                }
              }
            }
          },
  };
  return schema;
}

}  // namespace sy::routing::config
